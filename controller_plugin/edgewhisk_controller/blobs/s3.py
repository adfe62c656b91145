"""``S3BlobStore``: blobs as objects in one S3 bucket (AWS S3, MinIO, Ceph RGW; tests: moto).

boto3 is synchronous, so every call runs in a worker thread (``asyncio.to_thread``): the
controller's event loop keeps serving while a 200 MB model uploads.

Verify-on-arrival without a partial object ever visible: small blobs (up to one part) are
buffered, hashed and sent with a single ``PutObject`` only if the digest holds; larger ones go
up as a multipart upload whose parts are invisible until ``CompleteMultipartUpload``, which is
called only when the digest and size held — otherwise the upload is aborted and S3 drops the
parts. The digest is kept as object metadata (``x-amz-meta-sha256``) so ``stat`` is one HEAD.

Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``... environment, profiles),
never from the URL.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .exceptions import BlobError, BlobNotFound, BlobTooLarge, BlobUnavailable, DigestMismatch
from .interface import CHUNK, BlobStat, BlobStore, check_key

PART = 8 * 1024 * 1024
"""Multipart part size (S3's minimum is 5 MiB for every part but the last)."""

URL_OPTIONS = ("endpoint_url", "region", "prefix")


class S3BlobStore(BlobStore):
    """``s3://bucket?endpoint_url=http://host:port&region=us-east-1&prefix=edgewhisk/``."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None,
                 region: str | None = None, prefix: str = "") -> None:
        self.bucket, self.endpoint_url, self.region, self.prefix = (
            bucket, endpoint_url, region or "us-east-1", prefix)
        self._client: Any = None
        self._bucket_checked = False

    @classmethod
    def from_url(cls, url: str) -> S3BlobStore:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"an S3 blob store URL is s3://BUCKET[?endpoint_url=...], got {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = sorted(set(query) - set(URL_OPTIONS))
        if unknown:
            raise ValueError(f"unknown S3 option(s) {unknown}; use {', '.join(URL_OPTIONS)}")
        return cls(parts.netloc, endpoint_url=query.get("endpoint_url"),
                   region=query.get("region"), prefix=query.get("prefix", ""))

    def __repr__(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"S3BlobStore({self.bucket!r}{where})"

    async def _s3(self, method: str, **kwargs: Any) -> Any:
        """One boto3 call in a thread, its errors translated to ours."""
        import botocore.exceptions as bx

        def call() -> Any:
            if self._client is None:
                import boto3

                self._client = boto3.client("s3", endpoint_url=self.endpoint_url,
                                            region_name=self.region)
            return getattr(self._client, method)(**kwargs)

        try:
            return await asyncio.to_thread(call)
        except bx.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):  # nothing stored
                raise BlobNotFound(kwargs.get("Key", "?")) from None
            raise BlobError(f"S3 {method} on {self.bucket!r} failed: {exc}") from exc
        except (bx.BotoCoreError, OSError) as exc:
            raise BlobUnavailable(f"S3 at {self.endpoint_url or 'AWS'} is not reachable: "
                                  f"{exc}") from exc

    async def _ensure_bucket(self) -> None:
        """Create the bucket on first write if it is missing (the embedded default's habit)."""
        if self._bucket_checked:
            return
        try:
            await self._s3("head_bucket", Bucket=self.bucket)
        except BlobNotFound:
            await self._s3("create_bucket", Bucket=self.bucket)
        self._bucket_checked = True

    def _object(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, sha256: str | None = None,
                  max_size: int | None = None) -> BlobStat:
        name = self._object(key)
        await self._ensure_bucket()
        digest, size, buffer = hashlib.sha256(), 0, bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise BlobTooLarge(key, max_size)
                digest.update(chunk)
                buffer += chunk
                if len(buffer) >= PART:
                    if upload_id is None:
                        started = await self._s3("create_multipart_upload",
                                                 Bucket=self.bucket, Key=name)
                        upload_id = started["UploadId"]
                    parts.append(await self._part(name, upload_id, len(parts) + 1, bytes(buffer)))
                    buffer.clear()
            actual = digest.hexdigest()
            if sha256 is not None and sha256.lower() != actual:
                raise DigestMismatch(key, sha256.lower(), actual)
            meta = {"sha256": actual}
            if upload_id is None:
                await self._s3("put_object", Bucket=self.bucket, Key=name, Body=bytes(buffer),
                               Metadata=meta)
            else:
                if buffer:
                    parts.append(await self._part(name, upload_id, len(parts) + 1, bytes(buffer)))
                # The digest is known only now: S3 sets metadata at creation, so copy in place.
                await self._s3("complete_multipart_upload", Bucket=self.bucket, Key=name,
                               UploadId=upload_id, MultipartUpload={"Parts": parts})
                upload_id = None
                await self._s3("copy_object", Bucket=self.bucket, Key=name, Metadata=meta,
                               MetadataDirective="REPLACE",
                               CopySource={"Bucket": self.bucket, "Key": name})
        finally:
            if upload_id is not None:  # refused or interrupted: S3 drops the parts
                await asyncio.shield(self._s3("abort_multipart_upload", Bucket=self.bucket,
                                              Key=name, UploadId=upload_id))
        return BlobStat(key, size, actual)

    async def _part(self, name: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        answer = await self._s3("upload_part", Bucket=self.bucket, Key=name, UploadId=upload_id,
                                PartNumber=number, Body=body)
        return {"ETag": answer["ETag"], "PartNumber": number}

    async def get(self, key: str, *, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        answer = await self._s3("get_object", Bucket=self.bucket, Key=self._object(key))
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, chunk_size):
                yield chunk
        finally:
            body.close()

    async def stat(self, key: str) -> BlobStat:
        head = await self._s3("head_object", Bucket=self.bucket, Key=self._object(key))
        return BlobStat(key, int(head["ContentLength"]), head.get("Metadata", {}).get("sha256", ""))

    async def delete(self, key: str) -> bool:
        name = self._object(key)
        try:
            await self._s3("head_object", Bucket=self.bucket, Key=name)
        except BlobNotFound:
            return False
        await self._s3("delete_object", Bucket=self.bucket, Key=name)
        return True

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)
