"""Learned inverse graphics: one image → a textured, lit mesh and its camera, trained through render3d.

An encoder (`gan2d.nets.invgraphics`) predicts offsets of a template sphere, an equirectangular texture,
SH lighting and the camera (`model`); a batched soft renderer (`render`) draws the prediction at the
input camera and at the cameras of the other views of the same object (`camera.transfer`), so the
training losses (`losses`) compare silhouettes and colors in several views of multi-view sets from the
data engine and the GAN (`data`). Training runs as phases of `gan2d.train.loop` (`task`, `train`).
"""
