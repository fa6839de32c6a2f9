"""Where a long job got to, so that it resumes there after an interruption."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Column, Field, SQLModel

from models.types import UTCDateTime, utcnow


class Checkpoint(SQLModel, table=True):
    __tablename__ = "checkpoints"

    key: str = Field(
        primary_key=True, max_length=200
    )  # e.g. "normalize-phones:<member_id>:contact"
    value: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
