//! Which remote store to use and how to reach it: the URL from git config
//! (`remote.<name>.expArtifacts`, else `exp.artifacts.url`), and the
//! credentials from the usual places: for `s3://` the AWS environment
//! variables, then the shared files `~/.aws/credentials` and `~/.aws/config`
//! (profile `AWS_PROFILE`, else `default`), then container or instance
//! credentials (found by `object_store`); for `gs://` and `az://` the
//! variables `object_store` documents. Secrets never go in git config.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as Key;
use object_store::ObjectStore;

use super::Error;
use crate::store::Store;

/// The default store URL (`exp.artifacts.url`).
pub const CONFIG_URL: &str = "exp.artifacts.url";
/// Per git remote: `remote.<name>.expArtifacts`.
pub const REMOTE_KEY: &str = "expArtifacts";
/// S3 endpoint for S3-compatible servers (MinIO, Ceph, R2, ...).
pub const CONFIG_ENDPOINT: &str = "exp.artifacts.endpoint";
/// S3 region.
pub const CONFIG_REGION: &str = "exp.artifacts.region";
/// Objects transferred at once (default 8).
pub const CONFIG_JOBS: &str = "exp.artifacts.jobs";

/// Everything needed to open a remote store.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The store URL.
    pub url: String,
    /// S3 endpoint override (`exp.artifacts.endpoint`).
    pub endpoint: Option<String>,
    /// S3 region override (`exp.artifacts.region`).
    pub region: Option<String>,
    /// The process environment (AWS variables, HOME for the shared files).
    pub vars: Vec<(String, String)>,
    /// Objects transferred at once.
    pub jobs: usize,
}

impl Settings {
    /// The settings for git remote `remote` (or none: the default store), or
    /// `None` when no store is configured for it; an invalid
    /// `exp.artifacts.jobs` is an error.
    pub fn for_remote(
        store: &Store,
        remote: Option<&str>,
        vars: &[(String, String)],
    ) -> Result<Option<Settings>, crate::store::Error> {
        let url = remote
            .and_then(|r| store.config_string(&format!("remote.{r}.{REMOTE_KEY}")))
            .or_else(|| store.config_string(CONFIG_URL))
            .filter(|u| !u.trim().is_empty());
        let Some(url) = url else { return Ok(None) };
        Ok(Some(Settings {
            url: url.trim().to_owned(),
            endpoint: store.config_string(CONFIG_ENDPOINT),
            region: store.config_string(CONFIG_REGION),
            vars: vars.to_vec(),
            jobs: store
                .config_integer(CONFIG_JOBS, 1..=64, "a number from 1 to 64")?
                .map_or(8, |j| j as usize),
        }))
    }

    fn var(&self, key: &str) -> Option<&str> {
        self.vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

/// Builds the store and the key prefix from the settings.
pub(super) fn build(settings: &Settings) -> Result<(Arc<dyn ObjectStore>, Key), Error> {
    // Messages never repeat credentials a URL may (wrongly) hold.
    let shown = crate::util::anonymize_url(&settings.url);
    let bad = |reason: &str| Error::BadUrl { url: shown.clone(), reason: reason.to_owned() };
    let open = |e: object_store::Error| Error::Open {
        url: shown.clone(),
        message: e.to_string().lines().next().unwrap_or("").to_owned(),
    };
    let text = settings.url.as_str();
    let url = if text.starts_with('/') {
        url::Url::from_directory_path(text).map_err(|()| bad("not an absolute path"))?
    } else {
        url::Url::parse(text).map_err(|e| bad(&e.to_string()))?
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a query or fragment is not supported (the URL is kept in git config: put tokens in the environment)"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not belong in the URL (it is kept in git config); use the environment or the provider's credential files"));
    }
    let prefix_text = percent_decode(url.path().trim_matches('/'));
    let prefix = if url.scheme() == "file" {
        Key::default()
    } else {
        Key::parse(&prefix_text).map_err(|e| bad(&e.to_string()))?
    };
    let store: Arc<dyn ObjectStore> = match url.scheme() {
        "s3" | "s3a" => Arc::new(s3(settings, &url).build().map_err(open)?),
        "gs" => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map_err(open)?,
        ),
        "az" | "azure" | "abfs" | "abfss" => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map_err(open)?,
        ),
        "file" => {
            let path = url.to_file_path().map_err(|()| bad("not a local path"))?;
            fs_err::create_dir_all(&path)
                .map_err(|e| Error::Open { url: settings.url.clone(), message: e.to_string() })?;
            Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&path).map_err(open)?)
        }
        other => {
            return Err(bad(&format!(
                "unknown scheme '{other}:'; use s3://, gs://, az:// or file://"
            )))
        }
    };
    Ok((store, prefix))
}

/// The S3 builder: URL, then the AWS variables, else the shared files'
/// profile, then git config's endpoint and region.
fn s3(settings: &Settings, url: &url::Url) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::new();
    for (key, value) in &settings.vars {
        if key.starts_with("AWS_") && !value.is_empty() {
            if let Ok(k) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(k, value);
            }
        }
    }
    let profile = settings.var("AWS_PROFILE").unwrap_or("default").to_owned();
    let home = settings.var("HOME").map(PathBuf::from);
    let file = |var: &str, rel: &str| {
        settings.var(var).map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(rel)))
    };
    let mut from_files = Vec::new();
    if settings.var("AWS_ACCESS_KEY_ID").is_none() {
        if let Some(path) = file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials") {
            from_files.extend(ini_section(&path, &profile));
        }
    }
    if let Some(path) = file("AWS_CONFIG_FILE", ".aws/config") {
        let section =
            if profile == "default" { profile.clone() } else { format!("profile {profile}") };
        from_files.extend(ini_section(&path, &section));
    }
    let env_has = |k: &str| settings.var(k).is_some();
    for (key, value) in from_files {
        let (config_key, env) = match key.as_str() {
            "aws_access_key_id" if !env_has("AWS_ACCESS_KEY_ID") => {
                (AmazonS3ConfigKey::AccessKeyId, "")
            }
            "aws_secret_access_key" if !env_has("AWS_ACCESS_KEY_ID") => {
                (AmazonS3ConfigKey::SecretAccessKey, "")
            }
            "aws_session_token" if !env_has("AWS_ACCESS_KEY_ID") => (AmazonS3ConfigKey::Token, ""),
            "region" => (AmazonS3ConfigKey::Region, "AWS_REGION"),
            "endpoint_url" => (AmazonS3ConfigKey::Endpoint, "AWS_ENDPOINT_URL"),
            _ => continue,
        };
        // The environment wins over the files.
        let env_set = env_has(env) || env == "AWS_REGION" && env_has("AWS_DEFAULT_REGION");
        if env.is_empty() || !env_set {
            builder = builder.with_config(config_key, value);
        }
    }
    if let Some(endpoint) = &settings.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(region) = &settings.region {
        builder = builder.with_region(region);
    }
    // An http:// endpoint was chosen on purpose (a server on the same host or network).
    let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint).unwrap_or_default();
    if endpoint.starts_with("http://") {
        builder = builder.with_allow_http(true);
    }
    builder.with_url(url.as_str())
}

/// The `key = value` pairs of `[section]` in an INI file such as
/// `~/.aws/credentials` (missing or unreadable files give nothing).
fn ini_section(path: &Path, section: &str) -> Vec<(String, String)> {
    let Ok(text) = fs_err::read_to_string(path) else { return Vec::new() };
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
        } else if inside {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
    }
    out
}

/// Decodes `%xx` escapes of a URL path.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_come_from_the_shared_files_unless_the_environment_has_keys() {
        let tmp = tempfile::tempdir().unwrap();
        let aws = tmp.path().join(".aws");
        fs_err::create_dir_all(&aws).unwrap();
        fs_err::write(
            aws.join("credentials"),
            "[default]\naws_access_key_id = AKIDEFAULT\naws_secret_access_key = s1\n\n[team]\naws_access_key_id=AKITEAM\naws_secret_access_key=s2\n",
        )
        .unwrap();
        fs_err::write(
            aws.join("config"),
            "[profile team]\nregion = eu-west-3\nendpoint_url = http://127.0.0.1:9000\n",
        )
        .unwrap();
        let home = tmp.path().to_str().unwrap().to_owned();
        let settings = |vars: &[(&str, &str)]| Settings {
            url: "s3://bucket/runs".into(),
            vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Settings::default()
        };
        let url = url::Url::parse("s3://bucket/runs").unwrap();
        let b = s3(&settings(&[("HOME", &home), ("AWS_PROFILE", "team")]), &url);
        let get = |b: &AmazonS3Builder, k| b.get_config_value(&k).unwrap_or_default();
        assert_eq!(get(&b, AmazonS3ConfigKey::AccessKeyId), "AKITEAM");
        assert_eq!(get(&b, AmazonS3ConfigKey::Region), "eu-west-3");
        assert_eq!(get(&b, AmazonS3ConfigKey::Endpoint), "http://127.0.0.1:9000");
        let b = s3(&settings(&[("HOME", &home), ("AWS_ACCESS_KEY_ID", "AKIENV")]), &url);
        assert_eq!(get(&b, AmazonS3ConfigKey::AccessKeyId), "AKIENV");
        assert_eq!(get(&b, AmazonS3ConfigKey::SecretAccessKey), "");
        let b = s3(&settings(&[("HOME", &home)]), &url);
        assert_eq!(get(&b, AmazonS3ConfigKey::AccessKeyId), "AKIDEFAULT");
    }

    #[test]
    fn urls_are_checked() {
        let open = |url: &str| build(&Settings { url: url.into(), ..Settings::default() });
        assert!(matches!(open("ftp://x/y"), Err(Error::BadUrl { .. })));
        assert!(matches!(open("s3://key:secret@bucket/x"), Err(Error::BadUrl { .. })));
        assert!(matches!(open("not a url"), Err(Error::BadUrl { .. })));
        assert_eq!(percent_decode("a%20b/c%2"), "a b/c%2");
    }
}
