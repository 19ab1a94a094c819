// Key hashing: MurmurHash3 x86_32, memcached 1.6's default (hash_algorithm murmur3), seed 0.

@inline function rotl(x: u32, r: u32): u32 {
  return (x << r) | (x >>> (32 - r));
}

@inline function fmix(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

export function hashKey(key: usize, nkey: u32): u32 {
  const c1: u32 = 0xcc9e2d51;
  const c2: u32 = 0x1b873593;
  let h: u32 = 0;
  const nblocks = nkey >>> 2;
  for (let i: u32 = 0; i < nblocks; i++) {
    let k = load<u32>(key + (i << 2));
    k *= c1;
    k = rotl(k, 15);
    k *= c2;
    h ^= k;
    h = rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const tail = key + (nblocks << 2);
  let k: u32 = 0;
  const rest = nkey & 3;
  if (rest == 3) k ^= <u32>load<u8>(tail, 2) << 16;
  if (rest >= 2) k ^= <u32>load<u8>(tail, 1) << 8;
  if (rest >= 1) {
    k ^= <u32>load<u8>(tail);
    k *= c1;
    k = rotl(k, 15);
    k *= c2;
    h ^= k;
  }
  h ^= nkey;
  return fmix(h);
}
