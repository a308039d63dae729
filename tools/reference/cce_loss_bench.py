# cce_loss_bench.py: the CCE paper's loss benchmark (Apple's cut_cross_entropy: cce, cce_exact, torch_compile,
# and the materialized baseline) at Gemma 2 2B's head, as the anchors folder packages it for the GPU machine.
#
# Origin: copied from the anchors folder (.anchors/cce_loss_bench.py, ../shared/anchors/cce_loss_bench.py), the
# reference benchmark of apple/ml-cross-entropy's kernels that cce4j is measured against; the anchors README permits
# running it. Only that file was copied here; cut_cross_entropy itself is not part of cce4j and is imported from
# .anchors (PYTHONPATH=$PWD/.anchors, or the folder it is run from, as before).
#
# What cce4j changed (2026-12-02), everything else as it was:
#   --inputs paper|uniform|trained  the inputs' distribution, the same constructions as cce4j's bench-loss --inputs
#                                  (org.cce4j.core.bench.InputKind / TrainedInputs): paper is the original data(),
#                                  drawn per softcap as before (the default, so the original numbers stay comparable);
#                                  uniform and trained are drawn once
#   --save FILE.safetensors         writes the inputs used (E, C in bf16, targets int64) for cce4j's
#                                  bench-loss --inputs FILE (both sides time the very same values)
#   --load FILE.safetensors         times inputs from such a file instead of drawing them
#   --seed S                        the seed of every draw (default 0, as before)
#   before the timings, one JSON line {"inputs": {...}} per softcap: the inputs' softmax statistics measured on
#   64 evenly spaced rows in float64 (mean entropy in nats, top-1 probability, target == argmax, the fraction and
#   count per row of probabilities above 2^-12, the mean loss), with the keys cce4j's bench-loss prints
#   cut_cross_entropy missing: only the materialized baseline is timed (one line says so)
# Original usage still works: python3 cce_loss_bench.py [N D V]
import sys, os, json, math, argparse, torch, torch.nn.functional as F
sys.path.insert(0, ".")
sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".anchors"))
try:
    from cut_cross_entropy import linear_cross_entropy
except ImportError as ex:
    linear_cross_entropy = None
    print(json.dumps(dict(note="cut_cross_entropy not importable (%s): timing the baseline only" % ex)), flush=True)
torch.backends.cuda.matmul.allow_tf32 = True
def data(N, D, V, dtype, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    W = torch.randn(V, D, device="cuda", dtype=dtype, generator=g) / D**0.25
    x = torch.randn(N, D, device="cuda", dtype=dtype, generator=g) / D**0.25
    W[:N] = x[:min(N, V)]
    t = torch.randint(0, V, (N,), device="cuda", generator=g)
    return x, W, t

# ---- uniform: E, C independent, N(0,1)·0.1/D^0.25 each: logits of std 0.01 (a head at random initialization) ----
def uniform(N, D, V, dtype, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    s = 0.1 / D**0.25
    C = (torch.randn(V, D, device="cuda", generator=g) * s).to(dtype)
    E = (torch.randn(N, D, device="cuda", generator=g) * s).to(dtype)
    t = torch.randint(0, V, (N,), device="cuda", generator=g)
    return E, C, t

# ---- trained: cce4j's TrainedInputs, in torch (the class comment there derives it) --------------------------------
#   C_j = g_j + π_j·u, g_j ~ N(0, σ²I), σ = D^-0.25, π_j = −ln(1+j) (Zipf prior by id), u a random unit vector
#   E_i = ⊥u[Σ_k a_ik g_ck + β n_i] + u, K = 8 distinct candidates c_k ~ Zipf(1) over ids,
#   a_ik = (ℓ_ik − π_ck)/|g_ck|², ℓ_ik = h + δ_i − γ ln(k+1) (k from 0), δ_i ~ N(0, 2²), γ = 1, β n_i: tail noise s = 1.5
#   h bisected so the modelled mean entropy is 2.25 nats, corrected (≤ 2 times) by the exact entropy of 32 rows;
#   targets from each row's softmax: a candidate by its exact probability, or the tail (modelled mass
#   e^{s_eff²/2}·Σ_{j∉cand} e^{π_j}), its token by resampling 8 Zipf proposals weighed by e^{z}/q
K, GAMMA, SPREAD, NOISE, TARGET_H, PROPOSALS, CHECK_ROWS, TOL = 8, 1.0, 2.0, 1.5, 2.25, 8, 32, 0.15

def zipf(g, V, shape):
    u = torch.rand(shape, device="cuda", generator=g, dtype=torch.float64)
    return (torch.floor(torch.exp(u * math.log(V + 1.0))) - 1).clamp_(0, V - 1).long()

def zipf_prob(j, V):
    j = j.double()
    return torch.log((j + 2) / (j + 1)) / math.log(V + 1.0)

def trained(N, D, V, dtype, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    sigma = D ** -0.25
    u = torch.randn(D, device="cuda", generator=g, dtype=torch.float64)
    u = (u / u.norm()).float()
    prior = -torch.log1p(torch.arange(V, device="cuda", dtype=torch.float64))
    C = torch.empty(V, D, device="cuda", dtype=dtype)
    for s in range(0, V, 32768):                             # in chunks: an f32 copy of all of C would be 2.4 GB
        e = min(V, s + 32768)
        C[s:e] = (torch.randn(e - s, D, device="cuda", generator=g) * sigma + prior[s:e, None].float() * u).to(dtype)
    ids = zipf(g, V, (N, K))
    earlier = torch.ones(K, K, device="cuda").tril(-1).bool()              # [k, j]: j < k
    for _ in range(1000):                                     # redraw a candidate equal to an earlier one in its row
        dup = ((ids[:, :, None] == ids[:, None, :]) & earlier).any(-1)
        if not dup.any(): break
        ids[dup] = zipf(g, V, (int(dup.sum()),))
    delta = SPREAD * torch.randn(N, 1, device="cuda", generator=g, dtype=torch.float64)
    off = delta - GAMMA * torch.log(torch.arange(1, K + 1, device="cuda", dtype=torch.float64)) - prior[ids]   # [N, K]
    A = torch.zeros(N, D, device="cuda")
    B = torch.zeros(N, D, device="cuda")
    zA = torch.zeros(N, K, device="cuda", dtype=torch.float64)
    zB = torch.zeros(N, K, device="cuda", dtype=torch.float64)
    beta = NOISE / (sigma * math.sqrt(D))
    for s in range(0, N, 1024):                               # [1024, K, D] f32 candidate rows at a time
        e = min(N, s + 1024)
        rows = C[ids[s:e]].float()
        gk = rows - (rows @ u)[..., None] * u
        rho = (gk.double() ** 2).sum(-1)
        a = ((off[s:e] / rho).float()[..., None] * gk).sum(1) + beta * torch.randn(e - s, D, device="cuda", generator=g)
        b = ((1 / rho).float()[..., None] * gk).sum(1)
        a = a - (a @ u)[:, None] * u + u
        b = b - (b @ u)[:, None] * u
        A[s:e], B[s:e] = a, b
        zA[s:e] = torch.einsum("nd,nkd->nk", a.double(), rows.double())
        zB[s:e] = torch.einsum("nd,nkd->nk", b.double(), rows.double())
    inv = 1.0 / (1.0 + ids.double())
    harmonic, log_harmonic = torch.exp(prior).sum(), (torch.exp(prior) * prior).sum()
    tail0 = harmonic - inv.sum(1)
    tail1 = log_harmonic - (inv * prior[ids]).sum(1)
    def tail_var(h):
        return NOISE ** 2 + ((off + h) ** 2).sum(1) / D + sigma ** 2
    def model_entropy(h):
        s2 = tail_var(h)
        scale = torch.exp(s2 / 2)
        l = zA + h * zB
        p = torch.exp(l)
        z = scale * tail0 + p.sum(1)
        w = scale * (tail1 + s2 * tail0) + (p * l).sum(1)
        return torch.log(z) - w / z
    def solve(target):
        lo, hi = -30.0, 60.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if model_entropy(mid).mean().item() > target: lo = mid
            else: hi = mid
        return (lo + hi) / 2
    def write(h):
        E = (A.double() + h * B.double()).to(dtype)
        Ef = E.float()
        cand = torch.einsum("nd,nkd->nk", Ef.double(), C[ids].double()) if N * K * D <= 2**28 else \
            torch.cat([torch.einsum("nd,nkd->nk", Ef[s:s + 1024].double(), C[ids[s:s + 1024]].double()) for s in range(0, N, 1024)])
        pc = torch.exp(cand)
        total = pc.sum(1) + torch.exp(tail_var(h) / 2) * tail0
        pick = torch.rand(N, device="cuda", generator=g, dtype=torch.float64) * total
        cum = pc.cumsum(1)
        k = (cum <= pick[:, None]).sum(1)                     # the first candidate whose cumulative mass passes pick; K: the tail
        t = ids.gather(1, k.clamp(max=K - 1)[:, None])[:, 0]
        prop = zipf(g, V, (N, PROPOSALS))
        zp = torch.cat([torch.einsum("nd,nkd->nk", Ef[s:s + 1024].double(), C[prop[s:s + 1024]].double()) for s in range(0, N, 1024)])
        w = torch.exp(zp) / zipf_prob(prop, V)
        chosen = torch.multinomial((w / w.sum(1, keepdim=True)).float(), 1, generator=g)[:, 0]
        t = torch.where(k >= K, prop.gather(1, chosen[:, None])[:, 0], t)
        return E, t
    target = TARGET_H
    h = solve(target)
    for rnd in range(3):
        E, t = write(h)
        if rnd == 2: break
        st = statistics("trained", E, C, t, None, CHECK_ROWS)
        if abs(st["mean_entropy_nats"] - TARGET_H) <= TOL: break
        target += TARGET_H - st["mean_entropy_nats"]
        h = solve(target)
    return E, C, t

# ---- the inputs' statistics: exact float64 softmax of `rows` evenly spaced rows (cce4j's InputStatistics) --------
def statistics(kind, E, C, t, softcap, rows=64):
    N, V = E.shape[0], C.shape[0]
    S = min(N, rows)
    idx = torch.tensor([r * N // S for r in range(S)], device=E.device)
    e = E[idx].double()
    z = torch.cat([e @ C[s:s + 32768].double().T for s in range(0, V, 32768)], 1)
    if softcap: z = softcap * torch.tanh(z / softcap)
    lse = torch.logsumexp(z, 1, keepdim=True)
    logp = z - lse
    p = torch.exp(logp)
    H = -(p * logp).sum(1)
    above = (logp > math.log(2 ** -12)).sum(1).double()
    tt = t[idx].long()
    return dict(kind=kind, rows_sampled=S, mean_entropy_nats=round(H.mean().item(), 4),
                mean_top1_prob=round(p.max(1).values.mean().item(), 4),
                target_is_argmax=round((z.argmax(1) == tt).double().mean().item(), 4),
                frac_above_filter=float("%.6g" % (above.mean().item() / V)),
                above_filter_per_row=round(above.mean().item(), 2),
                mean_loss=round(-logp.gather(1, tt[:, None]).mean().item(), 4))

def baseline(e, c, t, softcap=None):
    logits = e @ c.T
    if softcap is not None: logits = torch.tanh(logits / softcap) * softcap
    return F.cross_entropy(logits.float(), t)
def run(fn, e, c, t, bw, iters=20):
    def step():
        e.grad = c.grad = None
        l = fn(e, c, t)
        if bw: l.backward()
        return l
    for _ in range(3): step()
    torch.cuda.synchronize(); torch.cuda.empty_cache()
    base = torch.cuda.memory_allocated(); torch.cuda.reset_peak_memory_stats()
    step(); torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - base
    ts = []
    for _ in range(iters):
        s, en = torch.cuda.Event(True), torch.cuda.Event(True)
        s.record(); step(); en.record(); torch.cuda.synchronize(); ts.append(s.elapsed_time(en))
    ts.sort(); return ts[len(ts)//2], peak / 2**20

ap = argparse.ArgumentParser(description="The CCE paper's loss benchmark (Apple CCE, cce_exact, torch.compile, materialized).")
ap.add_argument("shape", nargs="*", type=int, help="N D V (default 8192 2304 256000)")
ap.add_argument("--inputs", default="paper", choices=["paper", "uniform", "trained"])
ap.add_argument("--save", metavar="FILE.safetensors", help="write the inputs used: E, C (bf16), targets (int64)")
ap.add_argument("--load", metavar="FILE.safetensors", help="time the inputs of this file (E, C, targets)")
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
if len(args.shape) > 3: ap.error("at most three sizes: N D V")
arg = lambda i, d: args.shape[i - 1] if len(args.shape) >= i else d
shape = dict(N=arg(1, 8192), D=arg(2, 2304), V=arg(3, 256000))
given = None
if args.load:
    from safetensors.torch import load_file
    f = load_file(args.load, device="cuda")
    missing = [k for k in ("E", "C", "targets") if k not in f]
    if missing: sys.exit("%s: no tensor %s (needs E [N, D], C [V, D], targets [N])" % (args.load, missing[0]))
    given = (f["E"].to(torch.bfloat16), f["C"].to(torch.bfloat16), f["targets"].long())
    shape = dict(N=given[0].shape[0], D=given[0].shape[1], V=given[1].shape[0])
elif args.inputs != "paper":
    given = (uniform if args.inputs == "uniform" else trained)(shape["N"], shape["D"], shape["V"], torch.bfloat16, args.seed)
kind = args.load or args.inputs
saved = False
for softcap in ([None, 30.0] if shape["V"] == 256000 else [None]):
    if given is None:
        e, c, t = data(shape["N"], shape["D"], shape["V"], torch.bfloat16, args.seed)
    else:
        e, c, t = (x.detach().clone() if x.is_floating_point() else x for x in given)
    if args.save and not saved:
        from safetensors.torch import save_file
        save_file({"E": e.contiguous().cpu(), "C": c.contiguous().cpu(), "targets": t.long().contiguous().cpu()}, args.save,
                  metadata={"producer": "tools/reference/cce_loss_bench.py", "inputs": kind, "seed": str(args.seed)})
        saved = True
    print(json.dumps(dict(inputs=statistics(kind, e, c, t, softcap), softcap=softcap, **shape)), flush=True)
    e.requires_grad_(True); c.requires_grad_(True)
    methods = {"baseline": lambda e,c,t: baseline(e,c,t,softcap)}
    if linear_cross_entropy is not None:
        methods = {"cce": lambda e,c,t: linear_cross_entropy(e,c,t,softcap=softcap,impl="cce"),
                   "cce_exact": lambda e,c,t: linear_cross_entropy(e,c,t,softcap=softcap,impl="cce_exact"),
                   "torch_compile": lambda e,c,t: linear_cross_entropy(e,c,t,softcap=softcap,impl="torch_compile"),
                   **methods}
    for name, fn in methods.items():
        for bw in [False, True]:
            try:
                ms, mb = run(fn, e, c, t, bw)
                print(json.dumps(dict(method=name, softcap=softcap, kind="fw-bw" if bw else "fw", inputs=kind, ms=round(ms,2), op_mem_mb=round(mb,1), **shape)), flush=True)
            except Exception as ex:
                print(json.dumps(dict(method=name, softcap=softcap, kind="fw-bw" if bw else "fw", error=str(ex)[:200])), flush=True)
            torch.cuda.empty_cache()
    del e, c, t
    torch.cuda.empty_cache()
# floor: bf16 gemm rate
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16); b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
for _ in range(3): a@b
torch.cuda.synchronize(); s, en = torch.cuda.Event(True), torch.cuda.Event(True); s.record()
for _ in range(20): a@b
en.record(); torch.cuda.synchronize(); ms = s.elapsed_time(en)/20
print(json.dumps(dict(gemm_tflops=round(2*8192**3/ms/1e9,1))))
