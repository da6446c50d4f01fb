package seed

// doc is one demo document: a PDF with a page per string, or Markdown.
type doc struct {
	name  string
	pdf   bool
	pages []string
}

// docSet is one collection of demo documents, its owner (an index into
// people) and who may read it besides.
type docSet struct {
	collection string
	owner      int
	readers    []int
	everyone   bool
	docs       []doc
}

// library: the company handbook (Ada's, shared with everyone) and the
// field research notes (Barbara's, shared with Alan and Edsger).
var library = []docSet{
	{collection: "handbook", owner: 0, everyone: true, docs: []doc{
		{name: "employee-handbook-2026.pdf", pdf: true, pages: []string{
			"Employee Handbook 2026\nWelcome to Northwind Analytics. This handbook explains how we work together: working hours, leave, expenses, equipment and security. It applies to every employee from the first day. Questions go to people@northwind.example or to your manager.",
			"Working hours\nThe standard week is 38 hours. Core hours are 10:00 to 15:00, when everyone is reachable; outside them you plan your own day. Remote work is allowed up to three days a week. Overtime must be agreed with your manager in advance and is compensated with time off at the same rate.",
			"Annual leave\nFull-time employees receive 27 days of paid annual leave per calendar year, plus public holidays. Part-time employees receive leave in proportion to their hours. Up to five unused days may be carried over to the next year and must be taken by 31 March. Leave requests of more than two weeks need four weeks' notice.",
			"Sick leave and parental leave\nIf you are ill, tell your manager before 10:00 on the first day. A doctor's note is needed from the fourth day of absence. Parents receive 16 weeks of fully paid parental leave, which can be split into up to three blocks within the child's first two years.",
		}},
		{name: "travel-and-expense-policy.pdf", pdf: true, pages: []string{
			"Travel and Expense Policy\nBook business travel through the travel portal at least 14 days ahead when you can. Economy class is the standard for flights under six hours; premium economy is allowed for longer flights. Trains are preferred over flights for journeys under four hours.",
			"Meals and hotels\nThe daily meal allowance is 60 euros in the home country and 80 euros abroad. Hotels up to 180 euros a night are approved automatically; above that, your manager approves in the portal. Alcohol is not reimbursed.",
			"Submitting expenses\nSubmit receipts in the expense app within 30 days of the expense. Claims are paid with the next salary run after approval. Lost receipts need a signed statement from you and your manager. Corporate cards must not be used for private purchases.",
		}},
		{name: "information-security-policy.pdf", pdf: true, pages: []string{
			"Information Security Policy\nEvery laptop uses full-disk encryption and locks after five minutes of inactivity. Passwords must be at least 14 characters long and are kept in the company password manager. Multi-factor authentication is required for email, source code and the finance systems.",
			"Data classification\nData is public, internal, confidential or restricted. Customer data is always confidential. Restricted data, such as health or payroll records, may only be stored in the approved systems and never on removable media.",
			"Reporting incidents\nReport a lost device, a suspected phishing email or any security incident to security@northwind.example within one hour of noticing it. Do not try to investigate yourself. The security team answers around the clock on the incident hotline.",
		}},
		{name: "onboarding-guide.pdf", pdf: true, pages: []string{
			"Onboarding Guide\nIn your first week you receive your laptop, accounts and a buddy from your team. Your buddy helps with practical questions for the first three months. Your first day starts at 09:30 at the reception desk on the second floor.",
			"Your first month\nComplete the security training within your first ten working days. Meet your manager every week for the first month to agree goals. At the end of the first month, you and your manager hold a short review of how onboarding went.",
		}},
		{name: "benefits-overview.pdf", pdf: true, pages: []string{
			"Benefits Overview\nNorthwind pays 8 percent of your salary into the company pension plan and matches your own contribution up to a further 4 percent. Health insurance covers employees and their families from the first day.",
			"Learning and wellbeing\nEvery employee has a learning budget of 1,500 euros a year for courses, books and conferences. The wellbeing allowance of 40 euros a month can be spent on sport, gym membership or a bicycle lease.",
		}},
		{name: "it-faq.md", pages: []string{`# IT FAQ

## How do I reset my password?
Open the self-service portal at id.northwind.example and choose "Forgot password". You need your phone for the second factor. If you are locked out, the IT service desk can reset it after checking your identity by video call.

## How do I get a new laptop?
Laptops are replaced every four years, or earlier when they fail. Request a replacement in the IT portal; the service desk ships it within five working days.

## Which VPN do I use?
We use the WireGuard VPN: connect with the profile that is installed on every company laptop. The VPN is only needed for the finance and payroll systems; everything else works over the internet with single sign-on.
`}},
		{name: "office-guide.md", pages: []string{`# Office guide

## Opening hours
The office is open from 07:00 to 20:00 on working days. Outside those hours your badge opens the side door on Harbour Street.

## Desks and rooms
Desks are shared and booked in the office app. Meeting rooms for more than eight people must be booked at least one day ahead. The quiet room on the third floor is for focused work and calls are not allowed there.

## Visitors
Register visitors in the office app the day before. They collect a visitor badge at the reception desk and must be accompanied at all times.
`}},
		{name: "incident-response-runbook.md", pages: []string{`# Incident response runbook

## Severity levels
A severity 1 incident stops customers from using the product; the on-call engineer pages the incident commander at once. Severity 2 degrades the product for some customers and is handled within the working day.

## First steps
Open an incident channel, name an incident commander and a scribe, and post status updates every 30 minutes. Roll back the last deployment before debugging when the timing matches.

## After the incident
Write a blameless post-mortem within five working days, with the timeline, the root cause and follow-up actions with owners.
`}},
	}},
	{collection: "research", owner: 3, readers: []int{2, 4}, docs: []doc{
		{name: "grey-heron-field-study-2025.pdf", pdf: true, pages: []string{
			"Grey Heron Field Study 2025\nWe counted nesting grey herons at four heronries along the river between March and June 2025. The largest colony, at Willow Lake, held 64 occupied nests, up from 51 in 2024.",
			"Breeding success\nAcross all colonies, pairs raised on average 2.3 fledglings per nest. Nests high in alder trees fledged more young than nests in reed beds, which were flooded twice in April. Most clutches held three to five pale blue eggs.",
			"Feeding\nAdults feed mainly on roach and perch in the shallow margins, and on frogs after rain. Feeding flights from Willow Lake reached up to 8 kilometres, to the gravel pits south of the town.",
		}},
		{name: "urban-beekeeping-survey.pdf", pdf: true, pages: []string{
			"Urban Beekeeping Survey\nWe surveyed 212 hives on city rooftops and in allotments. Rooftop hives produced 18 kilograms of honey per hive on average, allotment hives 23 kilograms.",
			"Colony losses\nWinter losses were 14 percent, lower than the national average of 19 percent. Most losses followed varroa mite infestations that were treated too late in the autumn.",
		}},
		{name: "solar-panel-degradation-report.pdf", pdf: true, pages: []string{
			"Solar Panel Degradation Report\nWe measured 48 rooftop panels installed in 2016. Their output dropped by 0.55 percent per year on average, better than the 0.8 percent the manufacturer guaranteed.",
			"Causes\nPanels facing south-west with poor ventilation degraded fastest, up to 0.9 percent a year. Soiling from nearby trees reduced output by a further 3 percent until the panels were cleaned.",
		}},
		{name: "coastal-erosion-monitoring.pdf", pdf: true, pages: []string{
			"Coastal Erosion Monitoring\nDrone surveys of the 6 kilometre cliff line show an average retreat of 1.2 metres per year since 2019. The fastest retreat, 3.4 metres in one winter, followed the storm of January 2024.",
			"Recommendations\nWe recommend moving the coastal footpath 20 metres inland at the two fastest-retreating sections and repeating the drone survey every spring and after every major storm.",
		}},
		{name: "soil-carbon-pilot-results.pdf", pdf: true, pages: []string{
			"Soil Carbon Pilot Results\nCover crops were sown on twelve fields after the 2023 harvest. After two years, soil organic carbon in the top 30 centimetres increased by 0.3 percentage points compared with control fields.",
			"Costs\nCover crops cost 95 euros per hectare a year for seed and sowing. Yields of the following wheat crop were unchanged within the margin of error.",
		}},
		{name: "heron-colony-counts.md", pages: []string{`# Lab notes: heron colony counts

## Method
Heron nests are counted from fixed points with a telescope between 07:00 and 10:00, before leaves hide the nests. A nest counts as occupied when an adult is seen on it or building it.

## 2025 counts
Willow Lake 64, Mill Pond 23, Old Quarry 17, Long Reach 9. The Long Reach colony is new this year.
`}},
		{name: "reading-list.md", pages: []string{`# Reading list

## Herons and wetlands
- The Grey Heron, monograph, 2019 edition: the standard reference on breeding biology.
- Wetland bird surveys handbook: counting methods for colonies and roosts.

## Remote sensing
- Drone photogrammetry for coastal monitoring: ground control points and error budgets.
`}},
		{name: "drone-survey-methods.md", pages: []string{`# Methods: drone survey

## Flights
Drones fly at 80 metres above the cliff top with 75 percent image overlap. Ground control points are measured with RTK GPS before every flight.

## Processing
Images are processed into a surface model with a resolution of 3 centimetres. The cliff edge is traced on the model and compared with the previous survey.
`}},
	}},
}

// dialogue is one demo conversation.
type dialogue struct {
	title     string
	questions []string
}

// dialogues: twenty conversations, fifty questions. Conversation i
// belongs to people[i % 10]; those of Alan, Barbara and Edsger (2, 3, 4,
// 12, 13, 14) may ask about the research notes.
var dialogues = []dialogue{
	{"Leave planning", []string{"How many days of annual leave do we get?", "Can I carry unused leave over to next year?", "How much notice do I need for three weeks of leave?"}},
	{"Expenses question", []string{"What is the daily meal allowance abroad?", "How long do I have to submit receipts?"}},
	{"Heron colonies", []string{"How many nests were at Willow Lake in 2025?", "How many fledglings did each pair raise?", "What do the herons feed on?"}},
	{"Beekeeping results", []string{"How much honey did rooftop hives produce?", "What caused most winter losses?"}},
	{"Cliff erosion", []string{"How fast is the cliff retreating?", "What does the report recommend for the footpath?", "How high do the drones fly?"}},
	{"Security basics", []string{"How long must passwords be?", "Where do I report a lost laptop?"}},
	{"Remote work", []string{"How many days a week can I work remotely?", "What are the core hours?", "How is overtime compensated?"}},
	{"First week", []string{"What happens on my first day?", "When must I finish the security training?"}},
	{"Pension", []string{"How much does the company pay into the pension?", "What is the learning budget?", "What can the wellbeing allowance be spent on?"}},
	{"Travel booking", []string{"How far ahead should I book travel?", "Which class can I fly on long flights?"}},
	{"Parental leave", []string{"How long is parental leave?", "When do I need a doctor's note when sick?", "Can parental leave be split?"}},
	{"Hotel limits", []string{"What hotel price is approved automatically?", "Is alcohol reimbursed?"}},
	{"Solar panels", []string{"How much did panel output drop per year?", "Which panels degraded fastest?", "How much did soiling reduce output?"}},
	{"Soil carbon", []string{"How much did soil carbon increase with cover crops?", "What did the cover crops cost?"}},
	{"Survey methods", []string{"How are heron nests counted?", "What resolution is the drone surface model?", "Which colony is new this year?"}},
	{"Laptop trouble", []string{"How do I reset my password?", "How often are laptops replaced?"}},
	{"Office visit", []string{"When is the office open?", "How do I register a visitor?", "Can I take calls in the quiet room?"}},
	{"Data handling", []string{"Where may restricted data be stored?", "Is customer data confidential?"}},
	{"On call", []string{"What is a severity 1 incident?", "How often are status updates posted?", "When is the post-mortem due?"}},
	{"VPN", []string{"Which VPN do we use?", "Do I need the VPN for email?"}},
}
