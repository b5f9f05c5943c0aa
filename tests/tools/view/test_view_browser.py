"""The viewer in a real browser: a reconstruct run's mesh seen through the run's own camera, and live face sliders.

Headless Chromium (software WebGL) opens the viser page. Assertions are on pixels: what the browser
draws from the run's input camera must cover the run's own mask and reproduce the photo's colors
(so the OpenCV → viser camera conversion, the mesh, its texture and the unlit display all hold),
the page screenshot must show the mesh, and moving a face slider must move the face in the panel.
"""

from __future__ import annotations

import numpy as np
from browser_helpers import PHOTO, VIEWPORT, screenshot_array, wait_until
from PIL import Image

from tools.view.cameras import load_cameras
from tools.view.detect import open_run
from tools.view.pages.base import read_image
from tools.view.pages.faces import FacesPage, FaceView
from tools.view.server import start_viewer


def _connected_client(viewer):
    return wait_until(lambda: next(iter(viewer.server.get_clients().values()), None), what="the page to connect")


def test_reconstruct_mesh_seen_through_the_run_camera(browser, recon_run):
    viewer = start_viewer([open_run(recon_run)], port=0)
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(viewer.url)
        page.wait_for_selector("canvas", timeout=60_000)
        client = _connected_client(viewer)
        # Hide the input camera's frustum through the panel, as a user would: from the input camera
        # its image would cover the whole view.
        page.get_by_label("input camera").click()
        camera = load_cameras(recon_run / "camera.json")[0]
        wxyz, position = camera.viser_pose()
        mask = read_image(recon_run / "mask.png")[..., 0] > 127  # at the fit's working resolution
        h, w = mask.shape  # same field of view as the photo's camera, fewer pixels

        def render_with_mesh():
            rgba = client.get_render(h, w, wxyz=wxyz, position=position, fov=camera.fov_y,
                                     transport_format="png", timeout=60)
            return rgba if (rgba[..., 3] > 128).mean() > 0.05 else None  # the GLB decodes asynchronously

        rgba = wait_until(render_with_mesh, what="the mesh in the browser's render")
        drawn = rgba[..., 3] > 128
        iou = (drawn & mask).sum() / (drawn | mask).sum()
        assert iou > 0.9, f"browser silhouette vs run mask IoU {iou:.3f}"
        photo = np.asarray(Image.fromarray(read_image(PHOTO)).resize((w, h), Image.BOX), np.float64)
        both = drawn & mask
        seen, want = rgba[..., :3].astype(np.float64)[both], photo[both]
        # The texture sits where the photo was: brightness patterns agree pixel by pixel (a flipped
        # texture scores below 0.5 here). Absolute colors shift a little: viser tone-maps (ACES).
        corr = np.corrcoef(seen.mean(1), want.mean(1))[0, 1]
        assert corr > 0.75, f"browser render vs photo inside the mask: luminance correlation {corr:.3f}"
        ratio = seen.mean(0) / want.mean(0)
        assert np.all((ratio > 0.85) & (ratio < 1.3)), f"mean color ratio browser/photo {ratio.round(3)}"

        # The page itself, after the panel's "look through" button: the canvas (left of the panel) shows
        # many pixels of the object's color.
        page.get_by_role("button", name="look through the input camera").click()
        color = photo[mask].mean(0)

        def mesh_fraction():
            shot = screenshot_array(page)[:, : VIEWPORT["width"] - 420].astype(np.int32)
            near = (np.abs(shot - color).max(-1) < 45).mean()
            return near if near > 0.05 else None

        wait_until(mesh_fraction, what=f"the canvas to show the mesh's color {color.round()} on >5% of pixels")
        page.screenshot(path=str(recon_run.parent / "browser_reconstruct.png"))
    finally:
        page.close()
        viewer.stop()


def _toy_face(seed: int, yaw: float, pitch: float) -> FaceView:
    """A red disc whose position encodes the pose; the measured pose is read back from its centroid."""
    img = np.full((64, 64, 3), 235, np.uint8)
    yy, xx = np.mgrid[:64, :64]
    cx, cy = 32 + yaw / 60 * 20, 32 - pitch / 30 * 12
    img[(xx - cx) ** 2 + (yy - cy) ** 2 < 8 ** 2] = (200 + seed % 50, 30, 30)
    red = (img[..., 0] > 150) & (img[..., 1] < 80)
    return FaceView(img, yaw=(xx[red].mean() - 32) / 20 * 60, pitch=-(yy[red].mean() - 32) / 12 * 30)


def _disc_x(img: np.ndarray) -> float:
    red = (img[..., 0] > 150) & (img[..., 1] < 90) & (img[..., 2] < 90)
    assert red.sum() > 20, "no face disc in the panel image"
    return float(np.nonzero(red)[1].mean()) / img.shape[1]


def test_face_yaw_slider_moves_the_face(browser, tmp_path):
    viewer = start_viewer([FacesPage(tmp_path / "toy", _toy_face)], port=0)
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(viewer.url)
        _connected_client(viewer)
        image = page.locator("img").last
        image.wait_for(timeout=60_000)
        before = _disc_x(screenshot_array(image))
        yaw = page.get_by_role("slider").first
        yaw.focus()
        yaw.press("End")  # keyboard control of the slider: jump to its maximum (+60°)
        wait_until(lambda: "measured yaw +60" in page.inner_text("body"), what="the measured pose to update")
        after = wait_until(lambda: (x := _disc_x(screenshot_array(image))) > before + 0.15 and x,
                           what="the face image to change")
        assert after > before + 0.15, (before, after)
    finally:
        page.close()
        viewer.stop()

