package hnsw

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"

	"github.com/penny-dev/penny/storage/atomicfile"
)

const magic = "PNYHNSW1"

// Fingerprint identifies a set of ids, whatever their order: the count and
// the XOR of their 64-bit FNV hashes. A snapshot whose fingerprint differs
// from the store's is stale.
type Fingerprint struct {
	Count int
	Hash  uint64
}

// Add folds one id into the fingerprint.
func (f *Fingerprint) Add(id string) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	f.Count++
	f.Hash ^= h.Sum64()
}

// Fingerprint of the live items.
func (x *Index) Fingerprint() Fingerprint {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var f Fingerprint
	for id := range x.ids {
		f.Add(id)
	}
	return f
}

// Save writes the graph to path atomically (temp file, fsync, rename,
// fsync of the directory), with model naming the embedding model.
func (x *Index) Save(path, model string) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return atomicfile.Write(path, func(f io.Writer) error {
		w := bufio.NewWriterSize(f, 1<<20)
		le := binary.LittleEndian
		u32 := func(v uint32) { _ = binary.Write(w, le, v) }
		str := func(s string) { u32(uint32(len(s))); _, _ = w.WriteString(s) }
		_, _ = w.WriteString(magic)
		str(model)
		for _, v := range []int{x.dim, x.opts.M, x.top, x.entry + 1, len(x.nodes), x.live} {
			u32(uint32(v))
		}
		buf := make([]byte, 4*x.dim)
		for _, n := range x.nodes {
			str(n.id)
			str(n.doc)
			u32(uint32(n.level))
			del := byte(0)
			if n.deleted {
				del = 1
			}
			_ = w.WriteByte(del)
			for i, f := range n.vec {
				le.PutUint32(buf[4*i:], math.Float32bits(f))
			}
			_, _ = w.Write(buf)
			for _, links := range n.links {
				u32(uint32(len(links)))
				for _, l := range links {
					u32(l)
				}
			}
		}
		return w.Flush() // the first write error, if any, is kept by bufio
	})
}

// ErrBadSnapshot means the file is not a readable snapshot.
var ErrBadSnapshot = errors.New("hnsw: unreadable snapshot")

// Load reads a snapshot written by Save and returns the index and the
// embedding model it was built with.
func Load(path string, o Options) (*Index, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	le := binary.LittleEndian
	var ferr error
	u32 := func() uint32 {
		var v uint32
		if ferr == nil {
			ferr = binary.Read(r, le, &v)
		}
		return v
	}
	str := func() string {
		n := u32()
		if ferr != nil || n > 1<<20 {
			ferr = ErrBadSnapshot
			return ""
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			ferr = err
		}
		return string(b)
	}
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(r, head); err != nil || string(head) != magic {
		return nil, "", ErrBadSnapshot
	}
	model := str()
	dim, m, top, entry, count, live := int(u32()), int(u32()), int(u32()), int(u32())-1, int(u32()), int(u32())
	if ferr != nil || dim <= 0 || dim > 1<<16 || count < 0 {
		return nil, "", ErrBadSnapshot
	}
	o.M = m
	x := New(dim, o)
	x.top, x.entry, x.live = top, entry, live
	x.nodes = make([]*node, 0, count)
	buf := make([]byte, 4*dim)
	for i := 0; i < count; i++ {
		n := &node{id: str(), doc: str(), level: int(u32())}
		del, err := r.ReadByte()
		if err != nil || ferr != nil || n.level > 64 {
			return nil, "", fmt.Errorf("%w: node %d", ErrBadSnapshot, i)
		}
		n.deleted = del == 1
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, "", fmt.Errorf("%w: node %d", ErrBadSnapshot, i)
		}
		n.vec = make([]float32, dim)
		for j := range n.vec {
			n.vec[j] = math.Float32frombits(le.Uint32(buf[4*j:]))
		}
		n.links = make([][]uint32, n.level+1)
		for l := range n.links {
			k := u32()
			if k > uint32(4*m+8) {
				return nil, "", fmt.Errorf("%w: node %d links", ErrBadSnapshot, i)
			}
			n.links[l] = make([]uint32, k)
			for j := range n.links[l] {
				n.links[l][j] = u32()
				if n.links[l][j] >= uint32(count) {
					ferr = ErrBadSnapshot
				}
			}
		}
		if ferr != nil {
			return nil, "", fmt.Errorf("%w: node %d", ErrBadSnapshot, i)
		}
		nid := uint32(len(x.nodes))
		x.nodes = append(x.nodes, n)
		if !n.deleted {
			x.ids[n.id] = nid
			if x.docs[n.doc] == nil {
				x.docs[n.doc] = map[uint32]struct{}{}
			}
			x.docs[n.doc][nid] = struct{}{}
		}
	}
	if len(x.ids) != live || entry >= count {
		return nil, "", ErrBadSnapshot
	}
	return x, model, nil
}
