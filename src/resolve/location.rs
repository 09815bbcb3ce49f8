//! Where a registry document or an agent's bytes are: a URL served over HTTP, or a
//! file (a plain path, or a `file://` URL).

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// `http://` or `https://`.
    Url(String),
    /// A file on this machine, absolute.
    File(PathBuf),
}

impl Location {
    /// A location as the manifest writes it: a URL, or a path relative to `dir`.
    pub fn parse(written: &str, dir: &Path) -> Result<Location, String> {
        if let Some(rest) = strip_scheme(written, "file://") {
            if !rest.starts_with('/') {
                return Err(format!(
                    "`{written}` is not a file URL: it needs an absolute path, like `file:///srv/registry/index.json`"
                ));
            }
            return Ok(Location::File(crate::paths::normalize(Path::new(
                &percent_decoded(rest),
            ))));
        }
        if strip_scheme(written, "http://").is_some() || strip_scheme(written, "https://").is_some()
        {
            return Ok(Location::Url(written.to_string()));
        }
        if let Some((scheme, _)) = written.split_once("://") {
            return Err(format!(
                "`{written}`: mpm reads `http://`, `https://` and `file://` URLs, not `{scheme}://`"
            ));
        }
        Ok(Location::File(crate::paths::normalize(&dir.join(written))))
    }

    /// `reference` (from an index) taken relative to this document, as a browser
    /// resolves a link: a URL stays itself, a path is joined to this one's folder.
    pub fn join(&self, reference: &str) -> Result<Location, String> {
        let has_scheme = reference.contains("://");
        match self {
            // what a server says may not send mpm to this machine's own files
            _ if has_scheme => match Location::parse(reference, Path::new("/"))? {
                Location::File(_) if self.is_remote() => Err(format!(
                    "`{reference}` is named by a document served over HTTP, which may point only at `http://` and `https://` URLs"
                )),
                location => Ok(location),
            },
            Location::File(path) => {
                let dir = path.parent().unwrap_or(Path::new("/"));
                Ok(Location::File(crate::paths::normalize(
                    &dir.join(percent_decoded(reference)),
                )))
            }
            Location::Url(url) => {
                let (origin, path) = split_origin(url);
                if reference.starts_with('/') {
                    return Ok(Location::Url(format!("{origin}{reference}")));
                }
                let path = path.split(['?', '#']).next().unwrap_or_default();
                let dir = match path.rfind('/') {
                    Some(i) => &path[..=i],
                    None => "/",
                };
                Ok(Location::Url(format!("{origin}{dir}{reference}")))
            }
        }
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Location::Url(_))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Location::Url(url) => f.write_str(url),
            Location::File(path) => write!(f, "{}", path.display()),
        }
    }
}

fn strip_scheme<'a>(s: &'a str, scheme: &str) -> Option<&'a str> {
    (s.len() >= scheme.len() && s[..scheme.len()].eq_ignore_ascii_case(scheme))
        .then(|| &s[scheme.len()..])
}

/// `https://host:port` and the rest of the URL (from its first `/`, or empty).
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    }
}

/// `%20` and the like in a file URL or a relative reference to a file.
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_parsed_and_joined_as_a_browser_would() {
        let dir = Path::new("/work/project");
        assert_eq!(
            Location::parse("registry/index.json", dir).unwrap(),
            Location::File("/work/project/registry/index.json".into())
        );
        assert_eq!(
            Location::parse("file:///srv/my%20reg/index.json", dir).unwrap(),
            Location::File("/srv/my reg/index.json".into())
        );
        assert!(Location::parse("ftp://x/index.json", dir).is_err());
        assert!(Location::parse("file://relative", dir).is_err());
        let url = Location::parse("http://127.0.0.1:8080/reg/index.json?x=1", dir).unwrap();
        assert_eq!(
            url.join("agents/qa/1.0.0.json").unwrap(),
            Location::Url("http://127.0.0.1:8080/reg/agents/qa/1.0.0.json".into())
        );
        assert_eq!(
            url.join("/other/qa.md").unwrap(),
            Location::Url("http://127.0.0.1:8080/other/qa.md".into())
        );
        assert_eq!(
            Location::Url("http://h".into()).join("qa.md").unwrap(),
            Location::Url("http://h/qa.md".into())
        );
        let file = Location::File("/srv/reg/index.json".into());
        assert_eq!(
            file.join("agents/../qa.md").unwrap(),
            Location::File("/srv/reg/qa.md".into())
        );
        assert_eq!(
            file.join("https://cdn.example/qa.md").unwrap(),
            Location::Url("https://cdn.example/qa.md".into())
        );
        // a server may not send mpm to this machine's files
        assert!(url.join("file:///etc/passwd").is_err());
        assert!(url.join("FILE:///dev/zero").is_err());
    }
}
