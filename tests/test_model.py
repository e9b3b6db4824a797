"""STASN model: shapes, RAM boxes and crops, gradients, freezing, determinism, weights and input errors."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from stasn.errors import WeightsError
from stasn.model import (
    MODELS,
    STASN,
    STASNConfig,
    build_backbone,
    build_model,
    crop_regions,
    crop_regions_differentiable,
)
from stasn.model.ram import box_iou_matrix, candidate_boxes, select_peaks
from stasn.model.stasn import unique_frames

BACKBONES = ["resnet50", "resnet18", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_lite0"]


def tiny_config(**overrides) -> STASNConfig:
    values = dict(
        backbone="resnet18",
        num_frames=2,
        input_size=64,
        highres_size=128,
        num_regions=3,
        region_size=32,
        region_output_size=32,
        lstm_hidden=16,
        nms_iou=0.3,
    )
    values.update(overrides)
    return STASNConfig(**values)


def tiny_inputs(config: STASNConfig, batch: int = 2, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    t, s, hs = config.num_frames, config.input_size, config.highres_size
    highres = torch.rand(batch, t, 3, hs, hs, generator=gen)
    clips = F.interpolate(highres.flatten(0, 1), size=s, mode="bilinear", antialias=True).reshape(batch, t, 3, s, s)
    return clips, highres


@pytest.mark.parametrize(("backbone", "ram_mode"), list(itertools.product(BACKBONES, ["peaks", "learned"])))
def test_stasn_forward_shapes(backbone, ram_mode):
    config = tiny_config(backbone=backbone, ram_mode=ram_mode)
    torch.manual_seed(0)
    model = STASN.from_config(config).eval()
    clips, highres = tiny_inputs(config)
    with torch.no_grad():
        out = model(clips, highres)
    b, t, k = 2, config.num_frames, config.num_regions
    assert out.tasm_logits.shape == (b, 2)
    assert out.sasm_logits.shape == (b, 2)
    assert out.spoof_score.shape == (b,)
    assert out.boxes.shape == (b, t, k, 4)
    assert out.attention.shape[:2] == (b, t)
    assert out.frame_logits.shape == (b, t, 2)
    assert not torch.isnan(out.spoof_score).any(), "Output included NaNs"
    assert ((out.spoof_score >= 0) & (out.spoof_score <= 1)).all()
    # fused score is the configured mix of the two heads' spoof probabilities
    expected = 0.5 * out.tasm_logits.softmax(1)[:, 1] + 0.5 * out.sasm_logits.softmax(1)[:, 1]
    torch.testing.assert_close(out.spoof_score, expected)


@pytest.mark.parametrize("ram_mode", ["peaks", "learned"])
def test_boxes_inside_high_res_image(ram_mode):
    config = tiny_config(ram_mode=ram_mode)
    model = STASN.from_config(config).eval()
    with torch.no_grad():
        out = model(*tiny_inputs(config, batch=3))
    boxes = out.boxes
    hs = config.highres_size
    assert (boxes[..., 0] >= 0).all() and (boxes[..., 1] >= 0).all()
    assert (boxes[..., 2] <= hs).all() and (boxes[..., 3] <= hs).all()
    torch.testing.assert_close(boxes[..., 2] - boxes[..., 0], torch.full_like(boxes[..., 0], config.region_size))


@pytest.mark.parametrize("iou_threshold", [0.0, 0.3, 0.6])
def test_peak_boxes_separated_as_nms_demands(iou_threshold):
    config = tiny_config(nms_iou=iou_threshold, num_regions=4, region_size=24)
    model = STASN.from_config(config).eval()
    with torch.no_grad():
        out = model(*tiny_inputs(config, batch=4, seed=3))
    boxes = out.boxes.reshape(-1, config.num_regions, 4)
    for frame_boxes in boxes:
        iou = box_iou_matrix(frame_boxes)
        off_diagonal = iou[~torch.eye(len(frame_boxes), dtype=torch.bool)]
        assert (off_diagonal <= iou_threshold + 1e-6).all(), f"IoU {off_diagonal.max():.3f} > {iou_threshold}"


def test_select_peaks_takes_highest_separated_cells():
    boxes = torch.tensor([[0, 0, 10, 10], [5, 0, 15, 10], [20, 0, 30, 10], [40, 0, 50, 10]], dtype=torch.float32)
    iou = box_iou_matrix(boxes)
    scores = torch.tensor([[0.9, 0.8, 0.5, 0.1]])
    # box 1 overlaps box 0 (IoU 1/3) and is suppressed at 0.3; kept at 0.5
    assert select_peaks(scores, iou, 2, 0.3).tolist() == [[0, 2]]
    assert select_peaks(scores, iou, 2, 0.5).tolist() == [[0, 1]]
    # fewer separated candidates than k: the best unpicked fill in
    all_overlap = torch.ones(4, 4)
    assert select_peaks(scores, all_overlap, 3, 0.3).tolist() == [[0, 1, 2]]


def test_select_peaks_rejects_k_above_candidates():
    with pytest.raises(ValueError, match="cannot pick 5 regions from 4"):
        select_peaks(torch.rand(1, 4), torch.eye(4), 5, 0.3)


def test_candidate_boxes_are_whole_pixels_and_inside():
    boxes = candidate_boxes(7, 7, 448, 448, 112)
    assert boxes.shape == (49, 4)
    assert torch.equal(boxes, boxes.round())
    assert (boxes >= 0).all() and (boxes <= 448).all()


def test_peak_crops_equal_high_res_pixels_at_their_boxes():
    config = tiny_config()
    model = STASN.from_config(config).eval()
    clips, highres = tiny_inputs(config)
    with torch.no_grad():
        out = model(clips, highres)
    assert out.crops.shape == (2, config.num_frames, config.num_regions, 3, 32, 32)
    for b, t, k in itertools.product(range(2), range(config.num_frames), range(config.num_regions)):
        x1, y1, x2, y2 = out.boxes[b, t, k].int().tolist()
        torch.testing.assert_close(out.crops[b, t, k], highres[b, t, :, y1:y2, x1:x2], rtol=0, atol=1e-6)


def _reference_bilinear_crop(image: torch.Tensor, box, size: int) -> torch.Tensor:
    """Slow loop: sample each output pixel centre bilinearly (pixel i covers [i, i+1), border clamped)."""
    c, h, w = image.shape
    x1, y1, x2, y2 = box
    out = torch.zeros(c, size, size, dtype=torch.float64)
    img = image.double()
    for i in range(size):
        for j in range(size):
            x = x1 + (j + 0.5) * (x2 - x1) / size - 0.5
            y = y1 + (i + 0.5) * (y2 - y1) / size - 0.5
            x = min(max(x, 0.0), w - 1.0)
            y = min(max(y, 0.0), h - 1.0)
            x0, y0 = int(x), int(y)
            xb, yb = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
            ax, ay = x - x0, y - y0
            out[:, i, j] = (
                (1 - ax) * (1 - ay) * img[:, y0, x0]
                + ax * (1 - ay) * img[:, y0, xb]
                + (1 - ax) * ay * img[:, yb, x0]
                + ax * ay * img[:, yb, xb]
            )
    return out.float()


@pytest.mark.parametrize("fn", [crop_regions, crop_regions_differentiable])
def test_crop_regions_matches_reference(fn):
    torch.manual_seed(1)
    images = torch.rand(2, 3, 40, 48)
    boxes = torch.tensor(
        [[[3.0, 4.0, 19.0, 20.0], [10.3, 7.7, 26.1, 23.5]], [[0.0, 0.0, 16.0, 16.0], [30.5, 20.25, 46.0, 36.0]]]
    )
    crops = fn(images, boxes, 8)
    assert crops.shape == (2, 2, 3, 8, 8)
    for n, k in itertools.product(range(2), range(2)):
        torch.testing.assert_close(
            crops[n, k], _reference_bilinear_crop(images[n], boxes[n, k].tolist(), 8), rtol=0, atol=1e-5
        )


def test_crop_regions_integer_box_is_exact_slice():
    images = torch.rand(1, 3, 32, 32)
    boxes = torch.tensor([[[5.0, 7.0, 21.0, 23.0]]])
    for fn in (crop_regions, crop_regions_differentiable):
        torch.testing.assert_close(fn(images, boxes, 16)[0, 0], images[0, :, 7:23, 5:21], rtol=0, atol=1e-6)


def test_crop_regions_bad_boxes_shape():
    with pytest.raises(ValueError, match=r"boxes must be Tensor\[N, K, 4\]"):
        crop_regions(torch.rand(2, 3, 8, 8), torch.rand(2, 4), 4)


def _ram_head_grads(ram_mode: str):
    config = tiny_config(ram_mode=ram_mode)
    torch.manual_seed(0)
    model = STASN.from_config(config).train()
    clips, highres = tiny_inputs(config)
    out = model(clips, highres)
    model.compute_loss(out, torch.tensor([0, 1]), stage="sasm")["loss"].backward()
    return model


def test_gradients_reach_learned_ram_head():
    model = _ram_head_grads("learned")
    grads = [p.grad for p in model.ram.head.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads), "learned RAM head got no gradient"


def test_gradients_do_not_flow_through_peak_selection():
    model = _ram_head_grads("peaks")
    assert list(model.ram.parameters()) == []  # peaks RAM has nothing to learn
    # no gradient reaches TASM through the region choice: only SASM's loss was used
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.tasm.parameters())


def test_backward_reaches_every_parameter():
    config = tiny_config(ram_mode="learned", frame_loss_weight=0.5, ram_peak_supervision=0.1, dropout=0.0)
    torch.manual_seed(0)
    model = STASN.from_config(config).train()
    out = model(*tiny_inputs(config))
    model.compute_loss(out, torch.tensor([0, 1]))["loss"].backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, f"No gradient for {name}"


@pytest.mark.parametrize(("stage", "frozen"), [("tasm", ["sasm", "ram"]), ("sasm", ["tasm"]), ("joint", [])])
def test_freezing_leaves_frozen_weights_unchanged(stage, frozen):
    config = tiny_config(ram_mode="learned")
    torch.manual_seed(0)
    model = STASN.from_config(config)
    model.set_stage(stage)
    model.train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    bn_before = {n: b.clone() for n, b in model.named_buffers() if "running_mean" in n}
    optimiser = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    out = model(*tiny_inputs(config))
    model.compute_loss(out, torch.tensor([0, 1]))["loss"].backward()
    optimiser.step()
    for name, param in model.named_parameters():
        part = name.split(".")[0]
        changed = not torch.equal(before[name], param.detach())
        if part in frozen:
            assert not changed, f"frozen {name} changed in stage {stage}"
    for name, buf in model.named_buffers():
        if name in bn_before and name.split(".")[0] in frozen:
            assert torch.equal(bn_before[name], buf), f"BatchNorm statistics {name} changed while frozen"
    trained = [n for n in model.named_parameters() if n[0].split(".")[0] not in frozen]
    assert any(not torch.equal(before[n], p.detach()) for n, p in trained), "nothing trained"


def test_set_stage_rejects_unknown():
    model = STASN.from_config(tiny_config())
    with pytest.raises(ValueError, match="Unknown stage 'all'"):
        model.set_stage("all")


def test_same_seed_same_output():
    config = tiny_config(ram_mode="learned")
    outputs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = STASN.from_config(config).eval()
        with torch.no_grad():
            outputs.append(model(*tiny_inputs(config, seed=7)))
    torch.testing.assert_close(outputs[0].spoof_score, outputs[1].spoof_score, rtol=0, atol=0)
    torch.testing.assert_close(outputs[0].boxes, outputs[1].boxes, rtol=0, atol=0)


def test_state_dict_round_trip(tmp_path):
    config = tiny_config()
    torch.manual_seed(0)
    sizes = {k: v for k, v in config.to_dict().items() if k not in ("backbone", "pretrained")}
    model = build_model("stasn_r18", **sizes).eval()
    path = tmp_path / "stasn.pt"
    torch.save(model.state_dict(), path)
    loaded = build_model("stasn_r18", weights=path, **sizes).eval()
    inputs = tiny_inputs(config)
    with torch.no_grad():
        torch.testing.assert_close(model(*inputs).spoof_score, loaded(*inputs).spoof_score)


def test_truncated_weights_fail_clearly(tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision_resnet18_state(), path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(WeightsError, match=r"resnet18\.pth: cannot read weights"):
        build_backbone("resnet18", pretrained=path)


def torchvision_resnet18_state():
    import torchvision

    return torchvision.models.resnet18(weights=None).state_dict()


def test_pretrained_backbone_loads_torchvision_state_dict(tmp_path):
    state = torchvision_resnet18_state()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    backbone = build_backbone("resnet18", pretrained=path)
    torch.testing.assert_close(backbone.body[0].weight, state["conv1.weight"])


def test_mismatched_weights_name_file_and_keys(tmp_path):
    state = torchvision_resnet18_state()
    path = tmp_path / "wrong.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"wrong\.pth: has 122 keys, ResNet expects 320; missing 198 .*wrong shape"):
        build_backbone("resnet50", pretrained=path)
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"unexpected 1 \(e\.g\. extra\.weight\)"):
        build_backbone("resnet18", pretrained=path)


def test_missing_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth: weights file not found"):
        build_backbone("resnet18", pretrained=tmp_path / "nope.pth")


def test_wrong_clip_shape_names_expected_shape():
    config = tiny_config()
    model = STASN.from_config(config).eval()
    with pytest.raises(ValueError, match=r"expected clips of shape \(B, 2, 3, 64, 64\).*got \(2, 3, 3, 64, 64\)"):
        model(torch.rand(2, 3, 3, 64, 64))
    with pytest.raises(ValueError, match=r"expected highres of shape \(1, 2, 3, 128, 128\)"):
        model(torch.rand(1, 2, 3, 64, 64), torch.rand(1, 2, 3, 100, 100))


def test_highres_optional_upsamples_clips():
    config = tiny_config()
    model = STASN.from_config(config).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 2, 3, 64, 64))
    assert out.boxes.max() <= config.highres_size


def test_config_yaml_and_errors(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  backbone: resnet18\n  num_frames: 3\n")
    assert STASNConfig.from_yaml(path).num_frames == 3
    path.write_text("model:\n  num_frame: 3\n")
    with pytest.raises(ValueError, match=r"unknown model key\(s\) \['num_frame'\]"):
        STASNConfig.from_yaml(path)
    with pytest.raises(ValueError, match="Unknown backbone 'vgg'"):
        STASNConfig(backbone="vgg")
    with pytest.raises(ValueError, match="region_size .* must fit"):
        STASNConfig(region_size=500)


def test_registry_lists_models():
    assert set(MODELS) == {"stasn_r50", "stasn_r18", "stasn_mnv3", "stasn_mnv3s", "stasn_lite0"}
    with pytest.raises(ValueError, match="Unknown model .stasn_r34.. Available: stasn_lite0, stasn_mnv3, stasn_mnv3s"):
        build_model("stasn_r34")


def test_channels_last_model_gives_the_same_scores():
    config = tiny_config()
    torch.manual_seed(0)
    model = STASN.from_config(config).eval()
    inputs = tiny_inputs(config)
    with torch.no_grad():
        plain = model(*inputs)
        model.to(memory_format=torch.channels_last)
        nhwc = model(*inputs)
    torch.testing.assert_close(nhwc.spoof_score, plain.spoof_score, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(nhwc.boxes, plain.boxes)


# --- each distinct frame once ---------------------------------------------------------------------------------------
def _assert_outputs_close(a, b, atol: float = 1e-5) -> None:
    for name in ("spoof_score", "tasm_logits", "sasm_logits", "boxes", "crops", "attention", "frame_logits"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), atol=atol, rtol=0, msg=name)


@pytest.mark.parametrize(("backbone", "ram_mode"), [("resnet18", "peaks"), ("efficientnet_lite0", "learned")])
def test_still_image_once_equals_the_repeated_clip(backbone, ram_mode):
    config = tiny_config(backbone=backbone, ram_mode=ram_mode, num_frames=4, temporal_fusion="max")
    torch.manual_seed(0)
    model = STASN.from_config(config).eval()
    clips, highres = tiny_inputs(config, batch=3)
    stills, stills_hr = clips[:, :1].expand_as(clips).contiguous(), highres[:, :1].expand_as(highres).contiguous()
    index = torch.arange(3)[:, None].expand(3, 4)  # clip b is frame b, four times
    with torch.no_grad():
        naive = model(stills, stills_hr)  # the backbones run T * (1 + K) times per clip
        once = model.forward_frames(clips[:, 0], highres[:, 0], index)  # once per image
        found = model(stills, stills_hr, dedupe=True)
    _assert_outputs_close(naive, once)
    _assert_outputs_close(naive, found)


def test_clips_with_repeated_frames_run_each_distinct_frame_once():
    config = tiny_config(num_frames=4)
    torch.manual_seed(0)
    model = STASN.from_config(config).eval()
    clips, highres = tiny_inputs(config, batch=3, seed=4)
    clips[1, 2:], highres[1, 2:] = clips[1, 1], highres[1, 1]  # a short video stretched: 0 1 1 1
    clips[2, 3], highres[2, 3] = clips[2, 0], highres[2, 0]  # 0 1 2 0
    clips[2, 2] = clips[2, 1]  # equal small crop, different high-res crop: not a repeat
    frame_index, keep = unique_frames(clips, highres)
    assert frame_index.tolist() == [[0, 1, 2, 3], [4, 5, 5, 5], [6, 7, 8, 6]]
    assert keep.tolist() == [0, 1, 2, 3, 4, 5, 8, 9, 10]
    passes = []
    hook = model.tasm.backbone.register_forward_hook(lambda m, i, o: passes.append(i[0].shape[0]))
    with torch.no_grad():
        naive = model(clips, highres)
        found = model(clips, highres, dedupe=True)
    hook.remove()
    assert passes == [12, 9]
    _assert_outputs_close(naive, found)


def test_forward_frames_checks_its_inputs():
    config = tiny_config()
    model = STASN.from_config(config).eval()
    clips, highres = tiny_inputs(config)
    with pytest.raises(ValueError, match=r"frame_index of shape \(B, 2\) and dtype int64"):
        model.forward_frames(clips[:, 0], highres[:, 0], torch.zeros(2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"expected highres of shape \(2, 3, 128, 128\)"):
        model.forward_frames(clips[:, 0], highres[:1, 0], torch.zeros(2, 2, dtype=torch.int64))


def test_frozen_backbone_layers_stay_unchanged_in_every_stage():
    config = tiny_config(backbone="efficientnet_lite0", frozen_backbone_layers=3)
    torch.manual_seed(0)
    model = STASN.from_config(config)
    frozen = [model.tasm.backbone.body[i] for i in range(3)] + [model.sasm.backbone.body[i] for i in range(3)]
    trained = model.tasm.backbone.body[5]
    before = [{k: v.clone() for k, v in m.state_dict().items()} for m in [*frozen, trained]]
    clips, highres = tiny_inputs(config, batch=4)
    labels = torch.tensor([0, 1, 0, 1])
    for stage in ("tasm", "sasm", "joint"):
        model.set_stage(stage)
        model.train()
        assert not any(m.training for m in frozen)  # BatchNorm statistics fixed too
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
        model.compute_loss(model(clips, highres), labels)["loss"].backward()
        optimizer.step()
        optimizer.zero_grad()
    for module, saved in zip([*frozen, trained], before, strict=True):
        changed = any(not torch.equal(v, saved[k]) for k, v in module.state_dict().items())
        assert changed == (module is trained), module
    with pytest.raises(ValueError, match="frozen_backbone_layers must be >= 0"):
        tiny_config(frozen_backbone_layers=-1)
