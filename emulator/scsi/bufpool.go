package scsi

import (
	"math/bits"
	"sync"
)

// Read buffers are pooled by power-of-two size class (4 KiB .. 8 MiB):
// large reads at high rates would otherwise allocate and zero hundreds of
// MB/s for the garbage collector.
const (
	minClass = 12 // 4 KiB
	maxClass = 23 // 8 MiB = maxTransferBlocks * BlockSize
)

var bufPools [maxClass + 1]sync.Pool

func sizeClass(n int) int {
	c := bits.Len(uint(n - 1))
	if c < minClass {
		c = minClass
	}
	return c
}

// getBuf returns a buffer of length n; its contents are not zeroed (the
// caller overwrites all of it).
func getBuf(n int) []byte {
	c := sizeClass(n)
	if c > maxClass {
		return make([]byte, n)
	}
	if p, ok := bufPools[c].Get().(*[]byte); ok {
		return (*p)[:n]
	}
	return make([]byte, n, 1<<c)
}

// GetBuffer returns a pooled, unzeroed buffer of length n for a command's
// data-out; the transport must fill all of it before Execute and hand it
// back with PutBuffer once the command completed.
func GetBuffer(n int) []byte { return getBuf(n) }

// PutBuffer returns a buffer from GetBuffer to the pool.
func PutBuffer(b []byte) { putBuf(b) }

func putBuf(b []byte) {
	c := sizeClass(cap(b))
	if c > maxClass || cap(b) != 1<<c {
		return
	}
	b = b[:cap(b)]
	bufPools[c].Put(&b)
}
