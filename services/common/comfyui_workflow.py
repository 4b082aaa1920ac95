"""ComfyUI workflow templates: an operator's "Save (API)" export plus a small binding.

A template is a binding file (JSON) next to the workflow it binds:

    {
      "name": "txt2img-sd15",
      "workflow": "txt2img.api.json",          # ComfyUI "Save (API)" export, relative path
      "inputs": {                              # named input -> "node_id.input_name" (or a list)
        "prompt": "6.text",
        "negative_prompt": "7.text",
        "seed": "3.seed",
        "width": "5.width",
        "height": "5.height"
      },
      "output": "9",                           # node whose files are the result (optional)
      "limits": {"size_multiple": 8, "max_side": 1024}   # what the model can honour (optional)
    }

Named inputs: NAMED_INPUTS below. Images (init_image, character_image, end_image) are uploaded
with POST /upload/image and bound as the file name ComfyUI gave them. Every binding is checked
against the workflow here, and against the server's GET /object_info (validate_against) before the
first job, so a template that names a node pack the server lacks fails with that node's name.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from services.common.backend_errors import BackendFailed

# The inputs a binding may name, and what each means.
NAMED_INPUTS = {
    "prompt": "positive prompt text",
    "negative_prompt": "negative prompt text",
    "seed": "sampler seed (int)",
    "width": "output width in pixels",
    "height": "output height in pixels",
    "init_image": "first image / init image (uploaded file name)",
    "character_image": "character reference image (uploaded file name)",
    "end_image": "last frame for first-and-last-frame video workflows (uploaded file name)",
    "denoise": "img2img strength 0..1",
    "frames": "number of video frames to generate",
    "fps": "video frame rate",
}
IMAGE_INPUTS = ("init_image", "character_image", "end_image")


class TemplateError(BackendFailed):
    """The workflow template, or its binding, does not fit the workflow or the server."""


@dataclass(frozen=True)
class Limits:
    size_multiple: int = 8
    max_side: int = 1024
    # Video: longest clip the model makes, the frame-count rule (frames = offset + step * n,
    # e.g. Wan's 4n + 1) and its native frame rate.
    max_frames: int = 81
    frame_step: int = 1
    frame_offset: int = 0
    fps: int = 16


@dataclass(frozen=True)
class Template:
    name: str
    workflow: dict[str, Any]
    inputs: dict[str, list[tuple[str, str]]]
    output: str = ""
    limits: Limits = field(default_factory=Limits)

    @property
    def digest(self) -> str:
        """Hash of the workflow and binding: part of every cache key made with it."""
        blob = json.dumps(
            {"w": self.workflow, "i": self.inputs, "o": self.output}, sort_keys=True
        ).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def fill(self, values: dict[str, Any]) -> dict[str, Any]:
        """The workflow with the named values written into their nodes (a new dict)."""
        out = copy.deepcopy(self.workflow)
        for name, value in values.items():
            for node, key in self.inputs.get(name, []):
                out[node]["inputs"][key] = value
        return out

    def size_for(self, width: int, height: int) -> tuple[int, int]:
        """The request's aspect within the model's side limit, in its size multiple."""
        lim = self.limits
        k = min(1.0, lim.max_side / max(width, height))
        m = max(1, lim.size_multiple)
        return max(m, int(width * k) // m * m), max(m, int(height * k) // m * m)

    def frames_for(self, seconds: float) -> int:
        """Frames to ask for to cover `seconds` at the model's fps: the next count its rule
        allows (offset + step * n), at most max_frames."""
        lim = self.limits
        want = max(1, int(np.ceil(seconds * lim.fps - 1e-9)))
        step = max(1, lim.frame_step)
        n = max(0, int(np.ceil((want - lim.frame_offset) / step)))
        frames = lim.frame_offset + step * n
        while frames > lim.max_frames and n > 0:
            n -= 1
            frames = lim.frame_offset + step * n
        return max(1, frames)

    @property
    def max_seconds(self) -> float:
        return self.limits.max_frames / self.limits.fps

    def needs(self, name: str) -> bool:
        return name in self.inputs

    def validate_against(self, object_info: dict[str, Any], server: str) -> None:
        """Check every node class and bound input against the server's GET /object_info."""
        for node_id, node in sorted(self.workflow.items()):
            cls = node["class_type"]
            info = object_info.get(cls)
            if not isinstance(info, dict):
                raise TemplateError(
                    f"ComfyUI at {server} has no node class {cls!r} (node {node_id} of "
                    f"template {self.name!r}): install the node pack that provides it"
                )
            spec = info.get("input") or {}
            known = {**(spec.get("required") or {}), **(spec.get("optional") or {})}
            for key in spec.get("required") or {}:
                if key not in node.get("inputs", {}):
                    raise TemplateError(
                        f"template {self.name!r}: node {node_id} ({cls}) lacks required input "
                        f"{key!r} that ComfyUI at {server} expects"
                    )
            for name, targets in self.inputs.items():
                for target, key in targets:
                    if target == node_id and key not in known:
                        raise TemplateError(
                            f"template {self.name!r}: {name!r} is bound to input {key!r} of "
                            f"node {node_id} ({cls}), which ComfyUI at {server} does not have "
                            f"(it has: {', '.join(sorted(known))})"
                        )


def _targets(name: str, value: Any, where: str) -> list[tuple[str, str]]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if not isinstance(item, str) or "." not in item:
            raise TemplateError(f"{where}: input {name!r} must be 'node_id.input_name'")
        node, key = item.rsplit(".", 1)
        out.append((node, key))
    return out


def parse_template(binding: dict[str, Any], workflow: dict[str, Any], where: str) -> Template:
    if not isinstance(workflow, dict) or not workflow:
        raise TemplateError(f"{where}: the workflow is empty")
    for node_id, node in workflow.items():
        if not isinstance(node, dict) or "class_type" not in node or "inputs" not in node:
            raise TemplateError(
                f"{where}: node {node_id} has no class_type/inputs: export the workflow with "
                "ComfyUI's 'Save (API)', not 'Save'"
            )
    raw_inputs = binding.get("inputs")
    if not isinstance(raw_inputs, dict) or not raw_inputs:
        raise TemplateError(f"{where}: 'inputs' must map named inputs to node inputs")
    inputs: dict[str, list[tuple[str, str]]] = {}
    for name, value in raw_inputs.items():
        if name not in NAMED_INPUTS:
            raise TemplateError(
                f"{where}: unknown named input {name!r} (known: {', '.join(NAMED_INPUTS)})"
            )
        inputs[name] = _targets(name, value, where)
        for node, _ in inputs[name]:
            if node not in workflow:
                raise TemplateError(f"{where}: input {name!r} names node {node}, not in workflow")
    output = str(binding.get("output", ""))
    if output and output not in workflow:
        raise TemplateError(f"{where}: output node {output} is not in the workflow")
    raw_limits = binding.get("limits") or {}
    try:
        limits = Limits(**raw_limits)
    except TypeError as exc:
        raise TemplateError(f"{where}: bad limits: {exc}") from exc
    name = str(binding.get("name") or where)
    return Template(name, workflow, inputs, output, limits)


def load_template(path: str | Path) -> Template:
    """A binding file and the workflow it names (relative to the binding file)."""
    path = Path(path)
    try:
        binding = json.loads(path.read_text())
        wf_path = path.parent / str(binding["workflow"])
        workflow = json.loads(wf_path.read_text())
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TemplateError(f"cannot read ComfyUI template {path}: {exc}") from exc
    return parse_template(binding, workflow, str(path))


def output_files(history_entry: dict[str, Any], output_node: str) -> list[dict[str, str]]:
    """Files a finished prompt produced ({filename, subfolder, type}), from GET /history.

    Image nodes list them under "images", video nodes under "images"/"videos"/"gifs"
    (VideoHelperSuite); with no output node named, every node's saved ("output") files count.
    """
    outputs = history_entry.get("outputs") or {}
    nodes = [output_node] if output_node else sorted(outputs)
    files: list[dict[str, str]] = []
    for node in nodes:
        for value in (outputs.get(node) or {}).values():
            if not isinstance(value, list):
                continue
            for item in value:
                if isinstance(item, dict) and isinstance(item.get("filename"), str):
                    files.append(
                        {k: str(item.get(k, "")) for k in ("filename", "subfolder", "type")}
                    )
    saved = [f for f in files if f["type"] == "output"]
    return saved or files
