"""Face landmarks: MediaPipe face mesh with refined iris points (478 per face).

Uses the legacy FaceMesh solution of mediapipe 0.10.21, whose models ship inside the wheel, so
nothing is downloaded at run time. In video mode MediaPipe tracks faces between frames and only
runs its detector when tracking is lost; we add stable face ids on top by matching boxes.
"""

from __future__ import annotations

import os

import numpy as np

from .types import FaceLandmarks

# MediaPipe's C++ side logs to stderr through glog/absl; keep a user's terminal readable.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NUM_POINTS = 478


class LandmarkerUnavailable(RuntimeError):
    pass


class FaceLandmarker:
    """Finds up to ``max_faces`` faces per frame; ``detect`` takes RGB uint8 frames."""

    def __init__(self, max_faces: int = 1, static_images: bool = False,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5):
        try:
            from mediapipe.python.solutions import face_mesh
        except Exception as exc:  # pragma: no cover - depends on the environment
            raise LandmarkerUnavailable(
                f"MediaPipe face mesh is not usable ({exc}); install it with "
                "`pip install mediapipe==0.10.21` (Python 3.10-3.12)") from exc
        self.max_faces = max_faces
        self._mesh = face_mesh.FaceMesh(
            static_image_mode=static_images,
            max_num_faces=max_faces,
            refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self._previous: list[tuple[int, np.ndarray]] = []  # (face id, box centre)
        self._next_id = 0

    def detect(self, frame_rgb: np.ndarray) -> list[FaceLandmarks]:
        h, w = frame_rgb.shape[:2]
        result = self._mesh.process(frame_rgb)
        if not result.multi_face_landmarks:
            self._previous = []
            return []
        faces: list[FaceLandmarks] = []
        for face in result.multi_face_landmarks:
            arr = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
            if arr.shape[0] != NUM_POINTS:
                continue
            points = arr[:, :2] * np.array([w, h], dtype=np.float32)
            faces.append(FaceLandmarks(points=points, depth=arr[:, 2] * w, frame_size=(w, h)))
        return self._assign_ids(faces)

    def _assign_ids(self, faces: list[FaceLandmarks]) -> list[FaceLandmarks]:
        """Give each face the id of the nearest face of the previous frame, else a new id."""
        free = list(self._previous)
        out: list[FaceLandmarks] = []
        current: list[tuple[int, np.ndarray]] = []
        for face in faces:
            centre = face.points.mean(axis=0)
            best = None
            if free:
                dists = [np.linalg.norm(centre - c) for _, c in free]
                k = int(np.argmin(dists))
                if dists[k] < 0.5 * face.width_px:
                    best = free.pop(k)[0]
            if best is None:
                best = self._next_id
                self._next_id += 1
            current.append((best, centre))
            out.append(FaceLandmarks(face.points, face.depth, face.frame_size, face_id=best))
        self._previous = current
        return out

    def close(self) -> None:
        self._mesh.close()
