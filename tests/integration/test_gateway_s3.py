"""The gateway on the S3 backend (moto's S3 server on loopback): uploads, ranged downloads, cleanup.

Same API flow as on the local store, but every artifact goes through the S3 client: uploads are
streamed into the bucket, downloads are ranged GETs on objects, and rejected or deleted projects
leave no object behind.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.common.settings import Settings
from services.common.storage import S3Store
from tests.support.fake_orchestrator import make_test_video, serve_fake

pytestmark = pytest.mark.integration


def _objects(store: S3Store) -> list[str]:
    return sorted(str(o.object_name) for o in store.client.list_objects(store.bucket, "", True))


def test_gateway_on_s3(s3_endpoint: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        storage_backend="s3",
        s3_endpoint=s3_endpoint,
        s3_access_key="test",
        s3_secret_key="testtest",
        s3_bucket="gateway-test",
    )
    store = S3Store(settings)
    video = make_test_video(2.0)
    server, address, _fake = serve_fake(store, step_s=0.02, video=video)
    settings.orchestrator_addr = address
    gw = GatewaySettings(health_check_stages=False, rate_limit_per_minute=0)
    wav = io.BytesIO()
    t = np.arange(22050) / 22050
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 22050, format="WAV")
    try:
        with TestClient(create_app(settings, gw)) as client:  # the store comes from settings
            resp = client.post(
                "/api/v1/projects",
                data={"prompt": "p"},
                files={"audio": ("a.mp3", b"not audio" * 100, "audio/mpeg")},
            )
            assert resp.status_code == 400
            assert _objects(store) == []

            resp = client.post(
                "/api/v1/projects",
                data={"prompt": "p"},
                files={"audio": ("a.wav", wav.getvalue(), "audio/wav")},
            )
            assert resp.status_code == 201, resp.text
            pid = resp.json()["id"]
            assert _objects(store) == [f"uploads/{pid}/audio.wav"]
            assert store.get_bytes(f"uploads/{pid}/audio.wav") == wav.getvalue()

            client.post(f"/api/v1/projects/{pid}/process")
            assert (
                client.get(f"/api/v1/projects/{pid}/events")
                .text.rstrip()
                .endswith('data: {"status":"completed"}')
            )
            resp = client.get(f"/api/v1/projects/{pid}/video")
            assert resp.status_code == 200 and resp.content == video
            resp = client.get(f"/api/v1/projects/{pid}/video", headers={"Range": "bytes=1000-1999"})
            assert resp.status_code == 206 and resp.content == video[1000:2000]
            resp = client.get(f"/api/v1/projects/{pid}/video", headers={"Range": "bytes=-300"})
            assert resp.status_code == 206 and resp.content == video[-300:]
            assert client.get(f"/api/v1/projects/{pid}/keyframes/2").status_code == 200
            assert client.get(f"/api/v1/projects/{pid}/contact-sheet").status_code == 200

            assert client.delete(f"/api/v1/projects/{pid}").status_code == 204
            assert _objects(store) == []
    finally:
        server.stop(0)
