"""`neurender train stylegan2|refiner`: train a GAN from an image folder into a run directory.

A run directory holds `config.json` (the fully resolved run: data, networks, losses, loop), the
loop's `train_config.json`, `stats.jsonl`, `samples/step-*.png` and `checkpoints/snapshot-*/`
(network weights in the project's safetensors format, e.g. `G_ema.safetensors`, loadable by
`neurender gan generate`). `--resume` continues the run from its latest snapshot using the saved
`config.json` (only `--kimg` may change). Multi-process: launch the same command with
`torchrun --nproc_per_node N -m tools.cli train ...`.

`runs` builds and (de)serializes the run configs, `run` trains them, `cli` holds the commands (torch
is imported only inside them, so `--help` and usage errors stay fast).
"""
