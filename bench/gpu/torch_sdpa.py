"""PyTorch's scaled_dot_product_attention in fp32 on a CUDA GPU: the peer of attune's GPU
kernels. One JSON line per shape and backend (PyTorch's own dispatch, and the unfused math
path: two matmuls and a softmax). Shapes as attune's: BxHxSqxSkvxD, with an optional :causal.
Usage: python3 torch_sdpa.py 1x8x2048x2048x64 1x8x4096x4096x64:causal"""
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
        shape, _, opt = arg.partition(":")
        b, h, sq, skv, d = map(int, shape.split("x"))
        causal = opt == "causal"
        q = torch.randn(b, h, sq, d, device="cuda")
        k, v = (torch.randn(b, h, skv, d, device="cuda") for _ in range(2))
        flops = 4.0 * b * h * sq * skv * d / (2 if causal and sq == skv else 1)
        for name, backends in (("torch-sdpa", None), ("torch-math", [SDPBackend.MATH])):
            def run():
                return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
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
