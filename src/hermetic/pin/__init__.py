"""`hermetic pin`: every image reference of a project pinned by digest, checked or rewritten."""

from hermetic.pin.core import CheckReport, PinReport, check_pins, pin_images
from hermetic.pin.report import render_check, render_pin

__all__ = ["CheckReport", "PinReport", "check_pins", "pin_images", "render_check", "render_pin"]
