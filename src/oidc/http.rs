//! Reading the provider's answers with a size cap.
//!
//! Discovery documents, key sets, token and UserInfo answers are a few kilobytes. A
//! provider (or anything impersonating one on the path) that sends more is faulty: its
//! answer is refused as soon as it passes the cap, instead of growing our memory.

use super::OidcError;

/// The largest answer read from the provider. Real ones are a few KiB.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The body of `response`, or [`OidcError::Malformed`] once it passes `limit` bytes
/// (checked against `Content-Length` first, then while reading).
pub async fn read_capped(
    mut response: reqwest::Response,
    endpoint: &str,
    limit: usize,
) -> Result<Vec<u8>, OidcError> {
    let too_large = || OidcError::Malformed {
        endpoint: endpoint.to_string(),
        message: format!("the answer is larger than {limit} bytes"),
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| OidcError::from_http(endpoint, e))?
    {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// [`read_capped`] with [`MAX_RESPONSE_BYTES`].
pub async fn read_body(response: reqwest::Response, endpoint: &str) -> Result<Vec<u8>, OidcError> {
    read_capped(response, endpoint, MAX_RESPONSE_BYTES).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers one request with `body_len` bytes, chunked (no
    /// Content-Length), so only the streaming check can stop it.
    async fn chunked_server(body_len: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                .await;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < body_len {
                let n = chunk.len().min(body_len - sent);
                let head = format!("{n:x}\r\n");
                if socket.write_all(head.as_bytes()).await.is_err()
                    || socket.write_all(&chunk[..n]).await.is_err()
                    || socket.write_all(b"\r\n").await.is_err()
                {
                    return;
                }
                sent += n;
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
        });
        format!("http://{addr}/")
    }

    #[tokio::test]
    async fn answers_under_the_cap_are_read_whole() {
        let url = chunked_server(200 * 1024).await;
        let response = reqwest::get(&url).await.unwrap();
        let body = read_body(response, &url).await.unwrap();
        assert_eq!(body.len(), 200 * 1024);
    }

    #[tokio::test]
    async fn answers_over_the_cap_are_refused_while_streaming() {
        let url = chunked_server(8 * MAX_RESPONSE_BYTES).await;
        let response = reqwest::get(&url).await.unwrap();
        assert!(response.content_length().is_none());
        let err = read_body(response, &url).await.unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }
}
