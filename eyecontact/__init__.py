"""eyecontact: open, real-time gaze redirection ("eye contact") for video."""

__version__ = "0.1.0"
