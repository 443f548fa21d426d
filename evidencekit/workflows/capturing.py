"""Capturing URLs into the case and recording each step as it happens: shared by ``capture`` and the
watch family (``watch run``, ``recapture``)."""
