"""PyTorch's scaled_dot_product_attention in fp32 on a CUDA GPU: the peer of attune's GPU
kernels. One JSON line per shape and backend (PyTorch's own dispatch, and the unfused math
path: two matmuls and a softmax). Shapes as attune's: BxHxSqxSkvxD, with options :causal and :kv=N (GQA, N KV heads).
Usage: python3 torch_sdpa.py 1x8x2048x2048x64 1x8x4096x4096x64:causal 1x8x2048x2048x64:kv=2"""
import json
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def time_ms(fn, reps=20):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0, t1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        t0.record()
        fn()
        t1.record()
        t1.synchronize()
        times.append(t0.elapsed_time(t1))
    times.sort()
    return times[len(times) // 2]


def main():
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 arithmetic, as attune's kernels
    torch.backends.cudnn.allow_tf32 = False
    for arg in sys.argv[1:]:
        shape, *opts = arg.split(":")
        b, h, sq, skv, d = map(int, shape.split("x"))
        causal = "causal" in opts
        hk = next((int(o[3:]) for o in opts if o.startswith("kv=")), h)
        q = torch.randn(b, h, sq, d, device="cuda")
        k, v = (torch.randn(b, hk, skv, d, device="cuda") for _ in range(2))
        flops = 4.0 * b * h * sq * skv * d / (2 if causal and sq == skv else 1)
        for name, backends in (("torch-sdpa", None), ("torch-math", [SDPBackend.MATH])):
            def run():
                return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=hk != h)
            try:
                if backends is None:
                    ms = time_ms(run)
                else:
                    with sdpa_kernel(backends):
                        ms = time_ms(run)
                print(json.dumps({"shape": arg, "peer": name, "ms": ms, "gflops": flops / (ms * 1e-3) * 1e-9}), flush=True)
            except RuntimeError as e:
                print(json.dumps({"shape": arg, "peer": name, "error": str(e)[:200]}), flush=True)


if __name__ == "__main__":
    main()
