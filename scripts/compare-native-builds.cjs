// Compares two builds of the native kernels addon bit for bit: every kernel on the same random inputs (small and
// threaded sizes), every output array and return value. For refactors of native/ that must not change results.
//   OPENBLAS_CORETYPE=SkylakeX node scripts/compare-native-builds.cjs OLD.node NEW.node [threads]
// (build OLD from the earlier commit, e.g. in a git worktree with scripts/setup.sh). Exit status 1 on any difference.
const oldK = require(process.argv[2]),
  newK = require(process.argv[3]);
const threads = Number(process.argv[4] || 2);
oldK.setThreads(threads);
newK.setThreads(threads);
let seed = 7;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 4294967296 - 0.5;
};
const f32 = (n, s = 1) => Float32Array.from({ length: n }, () => rnd() * s);
const same = (a, b) =>
  Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  ) === 0;
let fails = 0,
  checks = 0;
function run(name, mk, call) {
  const A = mk(),
    B = A.map((x) => (x && x.slice ? x.slice() : x));
  const ra = call(oldK, A),
    rb = call(newK, B);
  checks++;
  for (let i = 0; i < A.length; i++)
    if (A[i] && A[i].buffer && !same(A[i], B[i])) {
      fails++;
      console.log("DIFF", name, "arg", i);
    }
  if (ra !== rb && !(Number.isNaN(ra) && Number.isNaN(rb))) {
    fails++;
    console.log("DIFF", name, "ret", ra, rb);
  }
}
for (const [N, d] of [
  [7, 64],
  [300, 512],
  [2100, 600],
]) {
  run(
    `rmsnormFwd ${N}x${d}`,
    () => [f32(N * d), f32(d), new Float32Array(N * d), new Float32Array(N)],
    (K, a) => K.rmsnormFwd(a[0], a[1], a[2], a[3], N, d, 1e-5),
  );
  run(
    `rmsnormBwd ${N}x${d}`,
    () => [f32(N * d), f32(N * d), f32(d), f32(N), f32(N * d), f32(d)],
    (K, a) => K.rmsnormBwd(a[0], a[1], a[2], a[3], a[4], a[5], N, d),
  );
  run(
    `swigluFwd ${N * d}`,
    () => [f32(N * d, 8), f32(N * d), new Float32Array(N * d)],
    (K, a) => K.swigluFwd(a[0], a[1], a[2], N * d),
  );
  run(
    `swigluBwd ${N * d}`,
    () => [f32(N * d), f32(N * d, 8), f32(N * d), new Float32Array(N * d), new Float32Array(N * d)],
    (K, a) => K.swigluBwd(a[0], a[1], a[2], a[3], a[4], N * d),
  );
  run(
    `adamw ${N * d}`,
    () => [f32(N * d), f32(N * d), f32(N * d), f32(N * d).map(Math.abs)],
    (K, a) => K.adamw(a[0], a[1], a[2], a[3], N * d, 1e-3, 0.9, 0.95, 1e-8, 0.1, 0.5, 0.3),
  );
  run(
    `sumsq ${N * d}`,
    () => [f32(N * d)],
    (K, a) => K.sumsq(a[0], N * d),
  );
  run(
    `axpy ${N * d}`,
    () => [f32(N * d), f32(N * d)],
    (K, a) => K.axpy(a[0], a[1], 0.37, N * d),
  );
  run(
    `scale ${N * d}`,
    () => [f32(N * d)],
    (K, a) => K.scale(a[0], 0.37, N * d),
  );
}
for (const [N, H, hd] of [
  [5, 4, 16],
  [3000, 8, 64],
]) {
  const maxPos = N + 3,
    half = hd / 2;
  const pos = Int32Array.from({ length: N }, (_, i) => (i * 7) % maxPos);
  run(
    `rope ${N}`,
    () => [f32(N * H * hd), f32(maxPos * half), f32(maxPos * half)],
    (K, a) => K.rope(a[0], N, H, hd, pos, a[1], a[2], 1),
  );
  run(
    `rope- ${N}`,
    () => [f32(N * H * hd), f32(maxPos * half), f32(maxPos * half)],
    (K, a) => K.rope(a[0], N, H, hd, pos, a[1], a[2], -1),
  );
}
for (const [segs, H, Hkv, hd] of [
  [[5, 1, 70], 4, 2, 16],
  [[130, 200, 64, 3], 8, 2, 32],
  [[300], 2, 1, 64],
]) {
  const N = segs.reduce((a, b) => a + b, 0);
  const segStart = new Int32Array(segs.length),
    segLen = Int32Array.from(segs);
  for (let i = 1; i < segs.length; i++) segStart[i] = segStart[i - 1] + segs[i - 1];
  const qn = N * H * hd,
    kn = N * Hkv * hd;
  run(
    `attnFwd ${segs}`,
    () => [f32(qn, 4), f32(kn, 4), f32(kn), new Float32Array(qn), new Float32Array(N * H)],
    (K, a) => K.attnFwd(a[0], a[1], a[2], a[3], a[4], segStart, segLen, H, Hkv, hd),
  );
  const q = f32(qn, 4),
    k = f32(kn, 4),
    v = f32(kn),
    out = new Float32Array(qn),
    lse = new Float32Array(N * H);
  oldK.attnFwd(q, k, v, out, lse, segStart, segLen, H, Hkv, hd);
  run(
    `attnBwd ${segs}`,
    () => [f32(qn), q, k, v, out, lse, new Float32Array(qn), f32(kn), f32(kn)],
    (K, a) => K.attnBwd(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], segStart, segLen, H, Hkv, hd),
  );
}
for (const [R, H, Hkv, hd, maxLen, slots] of [
  [3, 4, 2, 16, 20, 4],
  [16, 14, 2, 64, 600, 16],
]) {
  const slot = Int32Array.from({ length: R }, (_, i) => (i * 3) % slots),
    pos = Int32Array.from({ length: R }, (_, i) => (i * 37 + 5) % maxLen);
  run(
    `attnCached ${R}`,
    () => [
      f32(R * H * hd, 4),
      f32(slots * maxLen * Hkv * hd, 4),
      f32(slots * maxLen * Hkv * hd),
      new Float32Array(R * H * hd),
    ],
    (K, a) => K.attnCached(a[0], a[1], a[2], slot, pos, a[3], H, Hkv, hd, maxLen),
  );
}
for (const [N, V] of [
  [3, 50],
  [40, 30000],
]) {
  const tgt = Int32Array.from({ length: N }, (_, i) => (i * 13) % V);
  run(
    `logsoftmaxFwd ${N}x${V}`,
    () => [f32(N * V, 10), new Float32Array(N), new Float32Array(N), new Float32Array(N)],
    (K, a) => K.logsoftmaxFwd(a[0], N, V, tgt, a[1], a[2], a[3]),
  );
  run(
    `logsoftmaxFwd-noent ${N}x${V}`,
    () => [f32(N * V, 10), new Float32Array(N), new Float32Array(N)],
    (K, a) => K.logsoftmaxFwd(a[0], N, V, tgt, a[1], a[2], null),
  );
  const z = f32(N * V, 10),
    lp = new Float32Array(N),
    lse = new Float32Array(N),
    ent = new Float32Array(N);
  oldK.logsoftmaxFwd(z, N, V, tgt, lp, lse, ent);
  const gl = f32(N);
  gl[0] = 0;
  run(
    `logsoftmaxBwd ${N}x${V}`,
    () => [z.slice(), f32(N)],
    (K, a) => K.logsoftmaxBwd(a[0], N, V, tgt, lse, gl, ent, a[1]),
  );
  run(
    `logsoftmaxBwd-noent ${N}x${V}`,
    () => [z.slice()],
    (K, a) => K.logsoftmaxBwd(a[0], N, V, tgt, lse, gl, null, null),
  );
  const prm = new Float32Array(3 * N);
  for (let r = 0; r < N; r++) {
    prm[3 * r] = [0, 1, 0.7][r % 3];
    prm[3 * r + 1] = [0, 5, 0][r % 3];
    prm[3 * r + 2] = [1, 0.9, 0.5][r % 3];
  }
  const uni = Float64Array.from({ length: N }, () => rnd() + 0.5);
  run(
    `sampleRows ${N}x${V}`,
    () => [new Int32Array(N), new Float32Array(N)],
    (K, a) => K.sampleRows(z, N, V, prm, uni, a[0], a[1]),
  );
}
for (const [ta, tb, M, N, K] of [
  [false, true, 1, 896, 896],
  [false, true, 16, 4864, 896],
  [true, false, 300, 200, 100],
  [false, false, 512, 896, 896],
  [false, true, 1, 151936, 896],
]) {
  const lda = ta ? M : K,
    ldb = tb ? K : N;
  run(
    `sgemm ${ta}${tb} ${M}x${N}x${K}`,
    () => [f32(M * K), f32(K * N), f32(M * N)],
    (Kr, a) => Kr.sgemm(ta, tb, M, N, K, 0.7, a[0], lda, a[1], ldb, 0.3, a[2], N),
  );
}
console.log(`${checks} kernel calls compared, ${fails} differences (threads=${threads})`);
process.exit(fails ? 1 : 0);
