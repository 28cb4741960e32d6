"""The review form the Prefect UI shows a paused training run."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tasks.review import PromotionReview, review_form


def test_the_form_explains_each_field_and_requires_the_reviewer():
    form = review_form("## champion vs challenger")  # as the paused run shows it
    schema = form.model_json_schema()
    assert form._description == "## champion vs challenger"
    fields = schema["properties"]
    assert "challenger champion" in fields["approve"]["description"]
    assert "keep the champion" in fields["approve"]["description"]
    assert fields["reviewer"]["description"] and fields["note"]["description"]
    assert "reviewer" in schema["required"]
    assert fields["reviewer"]["minLength"] == 1
    assert fields["approve"]["default"] is False


def test_a_review_without_a_reviewer_is_refused():
    with pytest.raises(ValidationError):
        PromotionReview(approve=True, reviewer="")
    with pytest.raises(ValidationError):
        PromotionReview(approve=True)
    assert PromotionReview(approve=True, reviewer="ana").note == ""
