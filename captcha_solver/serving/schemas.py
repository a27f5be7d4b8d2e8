"""Request and response bodies of the HTTP API (they also make the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

__all__ = [
    "Base64Image",
    "BatchItem",
    "BatchRequest",
    "BatchResponse",
    "ErrorResponse",
    "FeedbackRequest",
    "FeedbackResponse",
    "HealthResponse",
    "PredictResponse",
]

_PNG_1x1_EXAMPLE = "iVBORw0KGgoAAAANSUhEUgAAAKAAAAA8CAIAAAB..."


class Base64Image(BaseModel):
    """One image sent as JSON."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"image_base64": _PNG_1x1_EXAMPLE, "name": "x7k2.png"}]},
    )

    image_base64: str = Field(
        description="The encoded image file (PNG, JPEG, BMP, GIF, WebP, TIFF), base64; a data: URL prefix is accepted."
    )
    name: str | None = Field(
        None, max_length=255, description="Name for the results row and the answer (default 'upload')."
    )


class BatchRequest(BaseModel):
    """Several images sent as JSON."""

    model_config = ConfigDict(extra="forbid")

    images: list[Base64Image] = Field(description="The images, at most serving.max_batch of them.")


class PredictResponse(BaseModel):
    """The reading of one captcha."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "x7k2.png",
                    "text": "x7k2",
                    "confidence": 0.93,
                    "char_confidences": [0.99, 0.97, 0.98, 0.99],
                    "boxes": [[12, 20, 30, 41], [46, 18, 28, 44], [80, 21, 27, 40], [112, 19, 29, 42]],
                    "reader": "classical",
                    "status": "ok",
                    "error": "",
                    "latency_ms": 23.4,
                    "model_version": "models:/captcha-solver/3",
                }
            ]
        }
    )

    name: str = Field(description="The upload's file name (or the name given).")
    text: str = Field(description="The text read; empty when nothing was found.")
    confidence: float = Field(description="Confidence of the whole reading, 0..1.")
    char_confidences: list[float] = Field(description="Confidence of each character, 0..1.")
    boxes: list[list[int]] = Field(description="Box of each glyph as [x, y, width, height] in image pixels.")
    reader: str = Field(
        description="Which reader answered: 'classical', 'neural' or 'fused' (both readers' evidence "
        "combined; '' when the image was not read)."
    )
    status: str = Field(description="'ok', or 'error' when no text was found (see error).")
    error: str = Field("", description="Why status is 'error'.")
    latency_ms: float = Field(description="Server-side time to decode and read the image, in milliseconds.")
    model_version: str = Field(
        "",
        description="The model version that read it: 'models:/NAME/VERSION' from the registry, or "
        "'folder:<first 12 hex of the manifest sha256>' for a model folder ('' when not read).",
    )

    request_id: str = Field(
        "",
        description="Id of this answer for POST /feedback (32 hex digits; '' when the image was not read). "
        "Known to the replica that answered, for feedback.pending_ttl_s seconds.",
    )


class FeedbackRequest(BaseModel):
    """The site's verdict on one answer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"request_id": "3f2a9c0d4b5e6f708192a3b4c5d6e7f8", "accepted": False, "text": "x7k2"}
            ]
        },
    )

    request_id: str = Field(min_length=1, max_length=64, description="The answer's request_id.")
    accepted: StrictBool = Field(description="Whether the site accepted the answer's text.")
    text: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="The true text, when known (it must fit the model's charset and lengths).",
    )


class FeedbackResponse(BaseModel):
    """What a verdict was recorded as."""

    request_id: str
    accepted: bool
    model_version: str = Field(description="The model version that read the captcha.")
    label: str = Field(description="The text the captcha is labelled with ('' when unknown).")
    saved_as: str = Field(
        description="Where the captcha was saved, relative to feedback.dir ('' unless feedback.keep_images)."
    )


class BatchItem(PredictResponse):
    """The reading of one image of a batch; a bad image fails alone."""

    http_status: int = Field(
        200, description="The status this image alone would have had (e.g. 415 for a non-image)."
    )
    error_code: str = Field("", description="Machine-readable error name when http_status is not 200.")


class BatchResponse(BaseModel):
    results: list[BatchItem]
    latency_ms: float


class ErrorResponse(BaseModel):
    """Every error answer (4xx and 5xx) has this shape."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "not_an_image",
                    "detail": "notes.txt: not a PNG, JPEG, BMP, GIF, WebP or TIFF image (starts with b'hello')",
                }
            ]
        }
    )

    error: str = Field(description="Machine-readable error name.")
    detail: Any = Field(description="What was wrong and what is expected.")


class HealthResponse(BaseModel):
    status: str = Field(description="'ok' when a model is loaded and answers.")
    model_loaded: bool
    model_dir: str
    charset_size: int
    model_version: str = Field("", description="The model version serving now (see PredictResponse).")


#: OpenAPI request bodies of /predict and /predict/batch (FastAPI cannot infer them: the routes read the raw request).
PREDICT_BODY_DOC = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
        "application/json": {"schema": {"$ref": "#/components/schemas/Base64Image"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
    },
}

BATCH_BODY_DOC = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                "required": ["files"],
            }
        },
        "application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}},
    },
}
