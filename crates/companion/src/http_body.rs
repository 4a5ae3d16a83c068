//! Response bodies read with a ceiling: a server (or something posing as one) cannot make the app hold
//! an unbounded body in memory. Conversation lists, search results and upsert results are far below
//! these sizes.

/// The most any cloud response may hold.
pub const MAX_CLOUD_BODY: usize = 16 << 20;

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the response is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    Read(String),
}

/// Reads a response body, refusing one past `limit` bytes (announced or actual).
pub async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| BodyError::Read(e.without_url().to_string()))? {
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
