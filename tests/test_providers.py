"""Execution-provider choice: the one place that decides where ONNX Runtime runs."""

from __future__ import annotations

import pytest

from eyecontact import providers
from eyecontact.providers import CPU, CUDA, ProviderError, choose_providers


def test_cpu_is_just_cpu() -> None:
    assert choose_providers("cpu") == [CPU]


def test_auto_ends_with_cpu_and_uses_cuda_only_when_available() -> None:
    chosen = choose_providers("auto")
    assert chosen[-1] == CPU
    import onnxruntime as ort

    assert (CUDA in chosen) == (CUDA in ort.get_available_providers())


def test_auto_prefers_cuda_when_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "available_providers", lambda: [CUDA, CPU])
    assert choose_providers("auto") == [CUDA, CPU]
    assert choose_providers("cuda") == [CUDA, CPU]
    assert choose_providers("cpu") == [CPU]


def test_cuda_unavailable_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "available_providers", lambda: [CPU])
    assert choose_providers("auto") == [CPU]
    with pytest.raises(ProviderError, match="cuda"):
        choose_providers("cuda")


def test_unknown_device_is_rejected() -> None:
    with pytest.raises(ValueError):
        choose_providers("tpu")


def test_thread_count_is_small_and_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EYECONTACT_ORT_THREADS", raising=False)
    assert 1 <= providers.cpu_threads() <= 2
    monkeypatch.setenv("EYECONTACT_ORT_THREADS", "1")
    assert providers.session_options().intra_op_num_threads == 1


def test_create_session_reports_the_provider_used() -> None:
    from eyecontact.redirect.base import default_model_path

    path = default_model_path()
    if not path.is_file():
        pytest.skip("no shipped model")
    session, used = providers.create_session(path, "cpu")
    assert used == CPU
    assert session.get_providers()[0] == CPU
