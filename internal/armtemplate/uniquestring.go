package armtemplate

import (
	"encoding/binary"
	"math/bits"
	"strings"
)

// UniqueString is ARM's uniqueString(): a 64-bit MurmurHash variant of the
// arguments joined with '-' (UTF-8), written as 13 base-32 characters
// (a–z, 2–7) from its high bits. ARM's engine is not published as a
// specification; the algorithm follows the reimplementations that
// reproduce Azure's values (the constants and mixing below), and the test
// checks values they report Azure gives
// (https://learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-string#uniquestring
// documents only the shape: 13 characters, deterministic).
func UniqueString(values ...string) string {
	h := murmur64([]byte(strings.Join(values, "-")))
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var out [13]byte
	for i := range out {
		out[i] = alphabet[h>>59]
		h <<= 5
	}
	return string(out[:])
}

// murmur64 is the 64-bit MurmurHash variant behind uniqueString (seed 0):
// two 32-bit lanes over 8-byte blocks, then MurmurHash3's finaliser on
// each lane.
func murmur64(data []byte) uint64 {
	const (
		c2 = 0x239b961b // 597399067
		c3 = 0xab0e9789 // 2869860233
		f1 = 0x85ebca6b
		f2 = 0xc2b2ae35
	)
	var h1, h2 uint32
	n := len(data)
	i := 0
	for ; i+7 < n; i += 8 {
		k1 := binary.LittleEndian.Uint32(data[i:])
		k2 := binary.LittleEndian.Uint32(data[i+4:])
		k1 = bits.RotateLeft32(k1*c2, 15) * c3
		h1 = (bits.RotateLeft32(h1^k1, 19)+h2)*5 + 0x561ccd1b
		k2 = bits.RotateLeft32(k2*c3, 17) * c2
		h2 = (bits.RotateLeft32(h2^k2, 13)+h1)*5 + 0x0bcaa747
	}
	if tail := n - i; tail > 0 {
		var k1 uint32
		for j := min(tail, 4) - 1; j >= 0; j-- {
			k1 = k1<<8 | uint32(data[i+j])
		}
		h1 ^= bits.RotateLeft32(k1*c2, 15) * c3
		if tail > 4 {
			var k2 uint32
			for j := tail - 5; j >= 0; j-- {
				k2 = k2<<8 | uint32(data[i+4+j])
			}
			h2 ^= bits.RotateLeft32(k2*c3, 17) * c2
		}
	}
	h1 ^= uint32(n)
	h2 ^= uint32(n)
	h1 += h2
	h2 += h1
	fmix := func(h uint32) uint32 {
		h ^= h >> 16
		h *= f1
		h ^= h >> 13
		h *= f2
		return h ^ h>>16
	}
	h1, h2 = fmix(h1), fmix(h2)
	h1 += h2
	h2 += h1
	return uint64(h2)<<32 | uint64(h1)
}
