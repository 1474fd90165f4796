//! Media in an S3-compatible object store (issue 21), shared by every instance of the central.
//!
//! S3 cannot append, and an upload cut on one instance must be resumable on another, so a
//! partial file is a run of *chunk* objects, each holding the bytes from its offset:
//! `PREFIX/partial/<station>/<id>/<name>/<offset, 20 digits>`. A chunk is written whole, by one
//! PUT, which S3 makes durable before it answers: what [`BlobAppender::finish`] returns over is
//! kept. Sealing streams the chunks, in order, into one multipart upload at
//! `PREFIX/media/<station>/<id>/<name>` and then deletes them; a sealed object is never written
//! again. The bytes are re-hashed at commit from the object store itself, as with files.
//!
//! The trait is synchronous (the API calls it from blocking threads), the client is async: the
//! store owns a small runtime and blocks on it.

use std::io::{self, Read};
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use tokio::runtime::{Handle, Runtime};

use super::{BlobAppender, BlobStore, PackageKey, StorageError, StorageResult};
use crate::names::{check_file_name, check_station_code};

/// Bytes gathered before a chunk object is written (and the most a chunk holds).
const CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// Where the media live: `s3://BUCKET[/PREFIX]` on an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/`; may be empty).
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://BUCKET[/PREFIX]`.
    pub fn parse(url: &str) -> Result<S3Location, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("«{url}» não é um endereço s3://BUCKET[/PREFIXO]"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!(
                "«{url}» não diz o bucket: use s3://BUCKET[/PREFIXO]"
            ));
        }
        Ok(S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }
}

/// How to reach the object store.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// Bucket and prefix.
    pub location: S3Location,
    /// Endpoint URL (SeaweedFS, MinIO, Ceph…); `None` for AWS itself.
    pub endpoint: Option<String>,
    /// Region (any value for most non-AWS stores).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

/// [`BlobStore`] on an S3-compatible object store.
pub struct S3Blobs {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    runtime: Option<Runtime>,
}

fn remote(e: impl std::fmt::Display) -> StorageError {
    StorageError::Io(io::Error::other(format!("armazenamento S3: {e}")))
}

fn invalid(e: impl std::fmt::Display) -> StorageError {
    StorageError::Io(io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

/// One chunk of a partial file.
#[derive(Debug, Clone)]
struct Chunk {
    path: ObjectPath,
    offset: u64,
    size: u64,
}

impl Chunk {
    fn end(&self) -> u64 {
        self.offset + self.size
    }
}

/// The chunks that make up the file from byte 0 without a gap, then the rest (stale ones past
/// a gap, from an upload cut and resumed earlier).
fn contiguous(mut chunks: Vec<Chunk>) -> (Vec<Chunk>, Vec<Chunk>) {
    chunks.sort_by_key(|c| c.offset);
    let mut run = Vec::new();
    let mut stale = Vec::new();
    let mut end = 0;
    for chunk in chunks {
        if chunk.offset == end {
            end = chunk.end();
            run.push(chunk);
        } else {
            stale.push(chunk);
        }
    }
    (run, stale)
}

impl S3Blobs {
    /// Connects to the store (nothing is sent until the first call).
    pub fn open(options: &S3Options) -> StorageResult<S3Blobs> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&options.location.bucket)
            .with_region(&options.region)
            .with_access_key_id(&options.access_key_id)
            .with_secret_access_key(&options.secret_access_key);
        if let Some(endpoint) = &options.endpoint {
            // Plain HTTP carries citizens' photos in the clear: only to this machine.
            let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
                .iter()
                .any(|p| endpoint.starts_with(p));
            if endpoint.starts_with("http://") && !loopback {
                return Err(invalid(format!(
                    "endpoint S3 «{endpoint}» sem TLS fora desta máquina; use https://"
                )));
            }
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(loopback)
                // Path-style requests: what self-hosted stores answer without DNS tricks.
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(remote)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("s3-blobs")
            .enable_all()
            .build()?;
        Ok(S3Blobs {
            store: Arc::new(store),
            prefix: options.location.prefix.clone(),
            runtime: Some(runtime),
        })
    }

    fn handle(&self) -> Handle {
        match &self.runtime {
            Some(runtime) => runtime.handle().clone(),
            // Only `Drop` takes it.
            None => unreachable!("S3Blobs used after drop"),
        }
    }

    fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.handle().block_on(f)
    }

    fn key_path(&self, area: &str, key: &PackageKey, name: Option<&str>) -> StorageResult<String> {
        check_station_code(&key.station).map_err(invalid)?;
        let mut path = String::new();
        if !self.prefix.is_empty() {
            path.push_str(&self.prefix);
            path.push('/');
        }
        path.push_str(&format!("{area}/{}/{}", key.station, key.inspection_id));
        if let Some(name) = name {
            check_file_name(name).map_err(invalid)?;
            path.push('/');
            path.push_str(name);
        }
        Ok(path)
    }

    fn sealed_path(&self, key: &PackageKey, name: &str) -> StorageResult<ObjectPath> {
        Ok(ObjectPath::from(self.key_path("media", key, Some(name))?))
    }

    fn chunk_dir(&self, key: &PackageKey, name: &str) -> StorageResult<ObjectPath> {
        Ok(ObjectPath::from(self.key_path(
            "partial",
            key,
            Some(name),
        )?))
    }

    async fn sealed_size(store: &dyn ObjectStore, path: &ObjectPath) -> StorageResult<Option<u64>> {
        match store.head(path).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(remote(e)),
        }
    }

    async fn list(store: &dyn ObjectStore, prefix: &ObjectPath) -> StorageResult<Vec<ObjectPath>> {
        let mut listing = store.list(Some(prefix));
        let mut paths = Vec::new();
        while let Some(meta) = listing.next().await {
            paths.push(meta.map_err(remote)?.location);
        }
        Ok(paths)
    }

    async fn chunks(store: &dyn ObjectStore, dir: &ObjectPath) -> StorageResult<Vec<Chunk>> {
        let mut listing = store.list(Some(dir));
        let mut chunks = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(remote)?;
            let Some(offset) = meta.location.filename().and_then(|n| n.parse::<u64>().ok()) else {
                continue;
            };
            chunks.push(Chunk {
                path: meta.location,
                offset,
                size: meta.size,
            });
        }
        Ok(chunks)
    }

    async fn delete_all(store: &dyn ObjectStore, paths: &[ObjectPath]) -> StorageResult<()> {
        for path in paths {
            match store.delete(path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(remote(e)),
            }
        }
        Ok(())
    }
}

impl Drop for S3Blobs {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is refused inside async code (the server's own
        // runtime ends while the state is still held): let it go in the background instead.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Gathers written bytes and puts them as chunk objects of up to [`CHUNK_BYTES`].
struct S3Appender {
    store: Arc<dyn ObjectStore>,
    handle: Handle,
    dir: String,
    position: u64,
    buffer: Vec<u8>,
    wrote_any: bool,
}

impl S3Appender {
    fn put_chunk(&mut self) -> StorageResult<()> {
        let path = ObjectPath::from(format!("{}/{:020}", self.dir, self.position));
        let bytes = Bytes::from(std::mem::take(&mut self.buffer));
        let len = bytes.len() as u64;
        let store = Arc::clone(&self.store);
        self.handle
            .block_on(async move { store.put(&path, PutPayload::from(bytes)).await })
            .map_err(remote)?;
        self.position += len;
        self.wrote_any = true;
        Ok(())
    }
}

impl BlobAppender for S3Appender {
    fn write(&mut self, mut bytes: &[u8]) -> StorageResult<()> {
        while !bytes.is_empty() {
            let room = CHUNK_BYTES - self.buffer.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.buffer.extend_from_slice(now);
            bytes = later;
            if self.buffer.len() == CHUNK_BYTES {
                self.put_chunk()?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> StorageResult<()> {
        // An empty file still gets its (empty) chunk, so it can be sealed.
        if !self.buffer.is_empty() || !self.wrote_any {
            self.put_chunk()?;
        }
        Ok(())
    }
}

/// Reads objects one after the other (chunk by chunk, or a sealed object as it streams).
struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    handle: Handle,
    pending: std::vec::IntoIter<(ObjectPath, Option<Range<u64>>)>,
    stream: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    current: Bytes,
}

impl ObjectReader {
    fn next_bytes(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            if let Some(stream) = &mut self.stream {
                match self.handle.block_on(stream.next()) {
                    Some(Ok(bytes)) => return Ok(Some(bytes)),
                    Some(Err(e)) => return Err(io::Error::other(e.to_string())),
                    None => self.stream = None,
                }
            }
            let Some((path, range)) = self.pending.next() else {
                return Ok(None);
            };
            let store = Arc::clone(&self.store);
            let stream = self.handle.block_on(async move {
                let options = object_store::GetOptions {
                    range: range.map(Into::into),
                    ..Default::default()
                };
                store
                    .get_opts(&path, options)
                    .await
                    .map(|got| got.into_stream())
            });
            self.stream = Some(stream.map_err(|e| io::Error::other(e.to_string()))?);
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.next_bytes()? {
                Some(bytes) => self.current = bytes,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

impl BlobStore for S3Blobs {
    fn len(&self, key: &PackageKey, name: &str) -> StorageResult<u64> {
        let sealed = self.sealed_path(key, name)?;
        let dir = self.chunk_dir(key, name)?;
        let store = self.store.as_ref();
        self.block_on(async {
            if let Some(size) = Self::sealed_size(store, &sealed).await? {
                return Ok(size);
            }
            let (run, _) = contiguous(Self::chunks(store, &dir).await?);
            Ok(run.last().map_or(0, Chunk::end))
        })
    }

    fn append(
        &self,
        key: &PackageKey,
        name: &str,
        offset: u64,
    ) -> StorageResult<Box<dyn BlobAppender>> {
        let sealed = self.sealed_path(key, name)?;
        let dir = self.chunk_dir(key, name)?;
        let store = self.store.as_ref();
        self.block_on(async {
            if Self::sealed_size(store, &sealed).await?.is_some() {
                return Err(StorageError::Io(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{name} já verificado; não pode ser alterado"),
                )));
            }
            let (run, stale) = contiguous(Self::chunks(store, &dir).await?);
            let len = run.last().map_or(0, Chunk::end);
            if offset > len {
                return Err(invalid(format!(
                    "offset {offset} além dos {len} bytes recebidos"
                )));
            }
            // Everything from `offset` on is replaced: later chunks go, and the chunk that
            // straddles `offset` is cut back to it (a new, shorter object under its name).
            let mut drop: Vec<ObjectPath> = stale.into_iter().map(|c| c.path).collect();
            for chunk in &run {
                if chunk.offset >= offset {
                    drop.push(chunk.path.clone());
                } else if chunk.end() > offset {
                    let kept = store
                        .get_range(&chunk.path, 0..offset - chunk.offset)
                        .await
                        .map_err(remote)?;
                    store
                        .put(&chunk.path, PutPayload::from(kept))
                        .await
                        .map_err(remote)?;
                }
            }
            Self::delete_all(store, &drop).await
        })?;
        Ok(Box::new(S3Appender {
            store: Arc::clone(&self.store),
            handle: self.handle(),
            dir: dir.to_string(),
            position: offset,
            buffer: Vec::new(),
            wrote_any: offset > 0,
        }))
    }

    fn open(&self, key: &PackageKey, name: &str) -> StorageResult<Box<dyn Read + Send>> {
        let sealed = self.sealed_path(key, name)?;
        let dir = self.chunk_dir(key, name)?;
        let store = self.store.as_ref();
        let pending = self.block_on(async {
            if Self::sealed_size(store, &sealed).await?.is_some() {
                return Ok(vec![(sealed, None)]);
            }
            let (run, _) = contiguous(Self::chunks(store, &dir).await?);
            if run.is_empty() {
                return Err(StorageError::Io(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{name} não recebido"),
                )));
            }
            Ok(run
                .into_iter()
                .filter(|c| c.size > 0)
                .map(|c| (c.path, None))
                .collect())
        })?;
        Ok(Box::new(ObjectReader {
            store: Arc::clone(&self.store),
            handle: self.handle(),
            pending: pending.into_iter(),
            stream: None,
            current: Bytes::new(),
        }))
    }

    fn discard(&self, key: &PackageKey, name: &str) -> StorageResult<()> {
        let sealed = self.sealed_path(key, name)?;
        let dir = self.chunk_dir(key, name)?;
        let store = self.store.as_ref();
        self.block_on(async {
            let mut paths = Self::list(store, &dir).await?;
            paths.push(sealed);
            Self::delete_all(store, &paths).await
        })
    }

    fn seal(&self, key: &PackageKey, name: &str) -> StorageResult<()> {
        let sealed = self.sealed_path(key, name)?;
        let dir = self.chunk_dir(key, name)?;
        let store = Arc::clone(&self.store);
        self.block_on(async move {
            let chunks = Self::chunks(store.as_ref(), &dir).await?;
            let all: Vec<ObjectPath> = chunks.iter().map(|c| c.path.clone()).collect();
            if Self::sealed_size(store.as_ref(), &sealed).await?.is_some() {
                // Already sealed (a commit retried, maybe on another instance): never replaced.
                return Self::delete_all(store.as_ref(), &all).await;
            }
            let (run, _) = contiguous(chunks);
            if run.is_empty() {
                return Err(StorageError::Io(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{name} não recebido"),
                )));
            }
            if let [only] = run.as_slice() {
                // One chunk (any file up to a chunk's size: every photo): a copy inside the
                // store, instead of reading it back and writing it again in parts.
                store.copy(&only.path, &sealed).await.map_err(remote)?;
                return Self::delete_all(store.as_ref(), &all).await;
            }
            let upload = store.put_multipart(&sealed).await.map_err(remote)?;
            let mut writer = WriteMultipart::new(upload);
            for chunk in &run {
                let mut stream = store.get(&chunk.path).await.map_err(remote)?.into_stream();
                while let Some(bytes) = stream.next().await {
                    writer.wait_for_capacity(4).await.map_err(remote)?;
                    writer.write(&bytes.map_err(remote)?);
                }
            }
            writer.finish().await.map_err(remote)?;
            Self::delete_all(store.as_ref(), &all).await
        })
    }

    fn sealed(&self, key: &PackageKey) -> StorageResult<Vec<String>> {
        let dir = ObjectPath::from(self.key_path("media", key, None)?);
        let store = self.store.as_ref();
        let mut names: Vec<String> = self
            .block_on(Self::list(store, &dir))?
            .iter()
            .filter_map(|p| p.filename().map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    fn delete_inspection(&self, key: &PackageKey) -> StorageResult<()> {
        let media = ObjectPath::from(self.key_path("media", key, None)?);
        let partial = ObjectPath::from(self.key_path("partial", key, None)?);
        let store = self.store.as_ref();
        self.block_on(async {
            let mut paths = Self::list(store, &media).await?;
            paths.extend(Self::list(store, &partial).await?);
            Self::delete_all(store, &paths).await
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn chunk(offset: u64, size: u64) -> Chunk {
        Chunk {
            path: ObjectPath::from(format!("p/{offset:020}")),
            offset,
            size,
        }
    }

    #[test]
    fn only_the_gapless_run_from_zero_counts() {
        let (run, stale) = contiguous(vec![chunk(10, 5), chunk(0, 10), chunk(20, 3)]);
        assert_eq!(
            run.iter().map(|c| c.offset).collect::<Vec<_>>(),
            vec![0, 10]
        );
        assert_eq!(stale.iter().map(|c| c.offset).collect::<Vec<_>>(), vec![20]);
        let (run, _) = contiguous(vec![chunk(0, 0)]);
        assert_eq!(run.len(), 1, "an empty file is one empty chunk");
        let (run, stale) = contiguous(vec![chunk(5, 1)]);
        assert!(run.is_empty() && stale.len() == 1);
    }

    #[test]
    fn locations_parse() {
        assert_eq!(
            S3Location::parse("s3://midia/central-1/").unwrap(),
            S3Location {
                bucket: "midia".into(),
                prefix: "central-1".into()
            }
        );
        assert_eq!(S3Location::parse("s3://midia").unwrap().prefix, "");
        assert!(S3Location::parse("https://midia").is_err());
        assert!(S3Location::parse("s3:///x").is_err());
    }
}
