"""gan2d: the shared GAN layer, network, loss and training core. Images are `[B, C, H, W]` in [-1, 1]."""
