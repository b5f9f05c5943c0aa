"""`neurender gan info|generate|export`: inspect, sample and convert StyleGAN2 generators.

Any checkpoint we can load works: our own `.safetensors`, official StyleGAN2-ADA `.pkl` pickles (imported
without running pickled code) and rosinality `.pt` files (`networks`). Seeds map to latents and images to
uint8 exactly as NVIDIA's `generate.py` does (`generate`). `cli` holds the commands; it imports torch only
inside them, so `--help` and usage errors stay fast.
"""
