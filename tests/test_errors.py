"""The one exception hierarchy: what people type wrong is a usage error; what is read back damaged is integrity."""

import pytest

from evidencekit.errors import (
    EXIT_INTEGRITY,
    EXIT_USAGE,
    DamagedEvidenceError,
    IntegrityError,
    ValidationError,
    reading_evidence,
)


def test_a_validation_error_met_while_reading_evidence_is_an_integrity_error_keeping_its_cause():
    with pytest.raises(DamagedEvidenceError) as caught, reading_evidence("the checkpoint recorded at seq 7"):
        raise ValidationError("a signed note must end with a newline")
    error = caught.value
    assert isinstance(error, IntegrityError) and error.exit_code == EXIT_INTEGRITY
    assert error.message.startswith("the checkpoint recorded at seq 7 is damaged (a signed note must end")
    assert "evidencekit ledger verify" in error.message
    assert isinstance(error.__cause__, ValidationError)


def test_outside_reading_evidence_a_validation_error_stays_a_usage_error():
    assert ValidationError("case id 'a b' must be ...").exit_code == EXIT_USAGE
    with pytest.raises(KeyError), reading_evidence("anything"):
        raise KeyError("other errors pass through unchanged")
