"""The pc2img model card: training time over resumed segments, the held-out table, the reproducing command."""

import json

from tools.pc2img.model import Pc2ImgConfig
from tools.pc2img.model_card import model_card
from tools.pc2img.train import Pc2ImgRun, TrainData


def test_card_names_data_scores_and_the_command(tmp_path):
    (tmp_path / "stats.jsonl").write_text(json.dumps({"step": 5, "sec": 600.0}) + "\n")
    run = Pc2ImgRun("data", model=Pc2ImgConfig(), trainset=TrainData({"shapes": 7, "heads": 2}, views=3, size=96))
    summary = [{"density": d, "views": 12, "naive_psnr": 15.0, "naive_ssim": 0.5, "pullpush_psnr": 16.0,
                "pullpush_ssim": 0.6, "coarse_psnr": 17.0, "coarse_ssim": 0.7, "learned_psnr": 19.25,
                "learned_ssim": 0.8, "gain_db": 3.25, "vis_acc": 0.9, "vis_all_visible": 0.75, "vis_hidden_found": 0.5,
                "vis_hidden_share": 0.25} for d in (0.05, 1.0)]
    info = {"snapshot": "snapshot-000000480", "kimg": 0.48, "step": 40, "heldout": {"seed": 1, "per_kind": 2,
                                                                                   "views": 4}}
    card = model_card(run.to_dict(), info, summary, tmp_path)
    assert "7 shapes, 2 heads" in card and "3 ground-truth views each at 96²" in card
    assert ("| 5% | 12 | 15.00 / 0.500 | 16.00 / 0.600 | 17.00 / 0.700 | 19.25 / 0.800 | +3.25 | 0.900 | 0.750 | "
            "25.0% | 50.0% |") in card
    assert "| 100% |" in card and "10.0 min of training" in card
    assert "--counts shapes=7,heads=2 --kimg 0.48 --batch 16 --crop 64" in card
    assert "Machine: " in card
