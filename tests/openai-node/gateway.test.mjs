// The official openai npm package against a running penny. The client code
// is what anyone would write for OpenAI: only the base URL and key differ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.PENNY_BASE_URL, apiKey: process.env.PENNY_API_KEY });

test('chat completion', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'auto', messages: [{ role: 'user', content: 'Say hello' }] })
    .withResponse();
  assert.match(data.choices[0].message.content, /^Hello from /);
  assert.ok(data.usage.total_tokens > 0);
  assert.equal(response.headers.get('x-penny-provider'), 'cloudflare');
  assert.ok(data.penny.baselineMicros > 0, 'penny extras ride along');
});

test('streaming chat completion with usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Stream please' }],
  });
  let text = '';
  let usage;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.equal(text, 'Hello from gpt-4o-mini. You said: Stream please');
  assert.ok(usage.completion_tokens > 0);
});

test('embeddings', async () => {
  const res = await client.embeddings.create({ model: 'auto', input: ['grey herons', 'quarterly revenue'] });
  assert.equal(res.data.length, 2);
  assert.equal(res.data[0].embedding.length, 1024);
  assert.ok(Math.abs(res.data[0].embedding.reduce((s, x) => s + x * x, 0) - 1) < 1e-3, 'unit vectors, decoded from base64');
});

test('models', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  for (const want of ['auto', 'auto:small', 'gpt-4o-mini', '@cf/baai/bge-m3']) assert.ok(ids.includes(want), want);
});

test('an unknown model is a NotFoundError with model_not_found', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-99', messages: [{ role: 'user', content: 'x' }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      return true;
    },
  );
});

test('a wrong key is an AuthenticationError', async () => {
  const bad = new OpenAI({ baseURL: process.env.PENNY_BASE_URL, apiKey: 'pk-wrong' });
  await assert.rejects(bad.models.list(), (err) => err instanceof OpenAI.AuthenticationError && err.code === 'invalid_api_key');
});
