package main

import (
	"math/bits"
	"sync"

	"google.golang.org/grpc/mem"
)

// dirtyPool is a gRPC buffer pool that, unlike gRPC's default, does not
// zero a buffer before reusing it (-dirtypool): it measures what the
// default pool's zeroing costs the receiver. Buffers are pooled by power
// of two from 256 B to 1 MiB; others are allocated. Owned by the bench's
// server; bounded by sync.Pool, which the GC empties.
type dirtyPool struct {
	classes [13]sync.Pool // 1<<8 .. 1<<20
}

var _ mem.BufferPool = (*dirtyPool)(nil)

const minClass = 8

func class(n int) int { return bits.Len(uint(n-1)) - minClass }

func (p *dirtyPool) Get(size int) *[]byte {
	c := max(class(size), 0)
	if c >= len(p.classes) {
		b := make([]byte, size)
		return &b
	}
	if bp, ok := p.classes[c].Get().(*[]byte); ok {
		*bp = (*bp)[:size]
		return bp
	}
	b := make([]byte, size, 1<<(c+minClass))
	return &b
}

func (p *dirtyPool) Put(bp *[]byte) {
	n := cap(*bp)
	c := class(n)
	if c < 0 || c >= len(p.classes) || n != 1<<(c+minClass) {
		return
	}
	p.classes[c].Put(bp)
}
