"""pc2img: point clouds (and COLMAP models) → photo-like images.

splat (`render3d.points.multichannel`) → learned visibility → coarse U-Net → refiner (`tools.pc2img.model`),
feed-forward with the shipped weights (`tools.pc2img.weights`) or fitted per scene (`tools.pc2img.fit`);
`tools.pc2img.render.run_pc2img` is the library entry point of `neurender pc2img`,
`tools.pc2img.train.run_training` the one of `neurender train pc2img`.
"""
