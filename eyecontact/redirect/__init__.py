"""Redirectors: normalised eye crops + wanted change -> redirected crops."""

from .base import Redirector, load_redirector

__all__ = ["Redirector", "load_redirector"]
