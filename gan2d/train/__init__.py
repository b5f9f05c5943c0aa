"""The training engine: a phase-based loop (`D_main`, `D_reg`, `G_main`, `G_reg`) shared by every GAN task."""
