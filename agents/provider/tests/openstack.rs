//! The OpenStack cloud: `clouds.yaml` parsing, and every call against the project's real lab
//! (`scripts/openstack-lab`).
//!
//! The lab tests read the lab's `clouds.yaml` from `UTTER_LAB_CLOUDS_YAML` (set by `scripts/test`
//! after `scripts/openstack-lab wait`; by hand: `UTTER_LAB_CLOUDS_YAML=target/openstack-lab/clouds.yaml`)
//! and use its clouds `utter-lab` (password) and `utter-lab-appcred` (application credential). When
//! the variable is unset they print `SKIPPED: ...` and pass. The tests that need no lab always run.

use std::{
    io::Read,
    net::TcpListener,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use utter_provider_agent::{
    cloud::{
        Cloud, CloudError, CloudServer, CreateServer,
        clouds_yaml::{self, Auth, CloudConfig, Interface, NameOrId, Project, Secret, User},
        openstack::{Network, OpenStack, Options},
    },
    plan::ServerStatus,
};

const LAB_ENV: &str = "UTTER_LAB_CLOUDS_YAML";

// ---------------------------------------------------------------- clouds.yaml, no lab needed

const SAMPLE: &str = r#"
clouds:
  pw:
    auth:
      auth_url: https://keystone.example.org:5000
      username: alice
      password: "hunter2"
      project_name: leases
      user_domain_name: Default
      project_domain_id: default
    region_name: RegionTwo
    interface: internal
    cacert: /etc/ssl/example-ca.pem
  numeric:
    auth:
      auth_url: http://k/v3/
      user_id: 4242
      password: 1234
      project_id: 99
    verify: false
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://k:5000/v3
      application_credential_id: abc
      application_credential_secret: s3cret
  appcred-named:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://k:5000/v3
      application_credential_name: agent
      application_credential_secret: s3cret
      username: bob
      domain_name: Default
  appcred-named-nouser:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://k:5000/v3
      application_credential_name: agent
      application_credential_secret: s3cret
  no-password:
    auth: {auth_url: http://k/v3, username: a, user_domain_name: D, project_name: p, project_domain_name: D}
  no-project:
    auth: {auth_url: http://k/v3, username: a, user_domain_name: D, password: x}
  no-user-domain:
    auth: {auth_url: http://k/v3, username: a, password: x, project_name: p, project_domain_name: D}
  no-auth-url:
    auth: {username: a, password: x, user_domain_name: D, project_name: p, project_domain_name: D}
  no-auth:
    region_name: R
  bad-url:
    auth: {auth_url: "keystone:5000", username: a, password: x, user_domain_name: D, project_id: p}
  bad-type:
    auth_type: token
    auth: {auth_url: http://k/v3, token: t}
  bad-interface:
    interface: sideways
    auth: {auth_url: http://k/v3, user_id: u, password: x, project_id: p}
  v2:
    identity_api_version: 2
    auth: {auth_url: http://k/v2.0, user_id: u, password: x, project_id: p}
"#;

fn sample(cloud: &str) -> Result<CloudConfig, clouds_yaml::ConfigError> {
    clouds_yaml::parse(SAMPLE, Path::new("/etc/test/clouds.yaml"), cloud)
}

fn sample_err(cloud: &str) -> String {
    sample(cloud).expect_err(cloud).to_string()
}

#[test]
fn clouds_yaml_password() {
    let c = sample("pw").unwrap();
    assert_eq!(c.name, "pw");
    assert_eq!(c.source, PathBuf::from("/etc/test/clouds.yaml"));
    assert_eq!(c.auth_url, "https://keystone.example.org:5000/v3");
    assert_eq!(c.region_name.as_deref(), Some("RegionTwo"));
    assert_eq!(c.interface, Interface::Internal);
    assert!(c.verify);
    assert_eq!(c.cacert, Some(PathBuf::from("/etc/ssl/example-ca.pem")));
    assert_eq!(
        c.auth,
        Auth::Password {
            user: User::Name {
                name: "alice".into(),
                domain: NameOrId::Name("Default".into())
            },
            password: Secret::new("hunter2"),
            project: Project::Name {
                name: "leases".into(),
                domain: NameOrId::Id("default".into())
            },
        }
    );
    // Secrets never show in Debug.
    let debug = format!("{c:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");

    let n = sample("numeric").unwrap();
    assert_eq!(n.auth_url, "http://k/v3");
    assert!(!n.verify);
    assert_eq!(n.interface, Interface::Public);
    assert_eq!(
        n.auth,
        Auth::Password {
            user: User::Id("4242".into()),
            password: Secret::new("1234"),
            project: Project::Id("99".into()),
        }
    );
}

#[test]
fn clouds_yaml_application_credentials() {
    let c = sample("appcred").unwrap();
    assert_eq!(
        c.auth,
        Auth::ApplicationCredential {
            credential: NameOrId::Id("abc".into()),
            user: None,
            secret: Secret::new("s3cret"),
        }
    );
    assert!(!format!("{c:?}").contains("s3cret"));
    let named = sample("appcred-named").unwrap();
    assert_eq!(
        named.auth,
        Auth::ApplicationCredential {
            credential: NameOrId::Name("agent".into()),
            user: Some(User::Name {
                name: "bob".into(),
                domain: NameOrId::Name("Default".into())
            }),
            secret: Secret::new("s3cret"),
        }
    );
    let e = sample_err("appcred-named-nouser");
    assert!(e.contains("auth.username"), "{e}");
}

#[test]
fn clouds_yaml_errors_name_file_cloud_and_field() {
    for (cloud, field) in [
        ("no-password", "auth.password is missing"),
        ("no-project", "auth.project_name is missing"),
        ("no-user-domain", "auth.user_domain_name is missing"),
        ("no-auth-url", "auth.auth_url is missing"),
        ("no-auth", "auth is missing"),
        (
            "bad-url",
            "auth.auth_url `keystone:5000` is not an http(s) URL",
        ),
        ("bad-type", "auth_type `token` is not supported"),
        ("bad-interface", "interface `sideways`"),
        ("v2", "identity_api_version `2` is not supported"),
    ] {
        let e = sample_err(cloud);
        assert!(
            e.starts_with(&format!("/etc/test/clouds.yaml: cloud `{cloud}`: ")),
            "{cloud}: {e}"
        );
        assert!(e.contains(field), "{cloud}: {e}");
    }

    let e = sample_err("nope");
    assert!(
        e.contains("/etc/test/clouds.yaml has no cloud named `nope`"),
        "{e}"
    );
    assert!(e.contains("pw, numeric, appcred"), "{e}");

    let e = clouds_yaml::parse(
        "clouds:\n  a: [unclosed\n",
        Path::new("/x/clouds.yaml"),
        "a",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("/x/clouds.yaml is not valid YAML: "), "{e}");
    assert!(e.contains("line"), "{e}");

    let e = clouds_yaml::parse("other: 1\n", Path::new("/x/clouds.yaml"), "a")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "/x/clouds.yaml has no `clouds` section");
}

#[test]
fn clouds_yaml_files_and_search_order() {
    let dir = scratch_dir("files");
    let missing = dir.join("missing.yaml");
    let e = clouds_yaml::load(Some(&missing), "x")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("cannot read clouds.yaml {}: ", missing.display())),
        "{e}"
    );

    let malformed = dir.join("clouds.yaml");
    std::fs::write(&malformed, "clouds:\n  lab:\n    auth: {auth_url: [\n").unwrap();
    let e = clouds_yaml::load(Some(&malformed), "lab")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("{} is not valid YAML", malformed.display())),
        "{e}"
    );

    let good = dir.join("good.yaml");
    std::fs::write(&good, SAMPLE).unwrap();
    let c = clouds_yaml::load(Some(&good), "appcred").unwrap();
    assert_eq!(c.source, good);

    assert_eq!(
        clouds_yaml::search_paths_with(
            Some(Path::new("/given.yaml")),
            Some(PathBuf::from("/env.yaml")),
            Some(PathBuf::from("/home/u")),
        ),
        [
            "/given.yaml",
            "/env.yaml",
            "clouds.yaml",
            "/home/u/.config/openstack/clouds.yaml",
            "/etc/openstack/clouds.yaml",
        ]
        .map(PathBuf::from)
    );
    assert_eq!(
        clouds_yaml::search_paths_with(None, Some(PathBuf::new()), None),
        ["clouds.yaml", "/etc/openstack/clouds.yaml"].map(PathBuf::from)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn network_choice() {
    assert_eq!("none".parse::<Network>(), Ok(Network::None));
    assert_eq!("auto".parse::<Network>(), Ok(Network::Auto));
    assert_eq!(
        "5f1a...".parse::<Network>(),
        Ok(Network::Id("5f1a...".into()))
    );
    assert!("".parse::<Network>().is_err());
    assert_eq!(Options::default().timeout, Duration::from_secs(30));
    assert_eq!(Options::default().network, Network::None);
}

// ---------------------------------------------------------------- failures that need no lab

fn offline_config(auth_url: &str) -> CloudConfig {
    let yaml = format!(
        "clouds:\n  off:\n    auth: {{auth_url: '{auth_url}', username: u, password: p, user_domain_name: Default, project_name: x, project_domain_name: Default}}\n"
    );
    clouds_yaml::parse(&yaml, Path::new("inline"), "off").unwrap()
}

#[tokio::test]
async fn unreachable_keystone_is_unavailable() {
    // A port nobody listens on: bind one, then close it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let e = OpenStack::connect(
        offline_config(&format!("http://127.0.0.1:{port}/v3")),
        Options::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, CloudError::Unavailable(_)), "{e:?}");
    assert!(e.to_string().contains("cannot connect"), "{e}");
    assert!(e.is_transient());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn silent_keystone_times_out() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            if held.len() > 4 {
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(10));
        for mut s in held {
            let _ = s.read(&mut [0; 1]);
        }
    });
    let options = Options {
        timeout: Duration::from_millis(700),
        ..Options::default()
    };
    let started = Instant::now();
    let e = OpenStack::connect(
        offline_config(&format!("http://127.0.0.1:{port}/v3")),
        options,
    )
    .await
    .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(e, CloudError::Unavailable(_)), "{e:?}");
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

// ---------------------------------------------------------------- token renewal and refusals, scripted
//
// The lab cannot make Nova answer 401 on demand: keystonemiddleware caches a token's validation for
// minutes, so even a revoked token keeps working there. The renewal logic is therefore checked against
// a scripted Keystone + Nova on loopback (plain HTTP/1.1, one request per connection), which also
// records every request's token and microversion headers. It also answers server creates and
// rebuilds as scripted (quota and policy 403s, refusals quoting the user data), which the lab
// cannot be made to do on demand either.

#[derive(Default)]
struct Script {
    /// Tokens Nova refuses (401).
    refused: Vec<String>,
    /// Refuse every token.
    refuse_all: bool,
    /// Token lifetime, seconds.
    lifetime: u32,
    /// Nova's newest microversion.
    nova_max: &'static str,
    /// Tokens issued so far.
    issued: u32,
    /// `METHOD path token microversion` of every request.
    log: Vec<String>,
    /// Nova's answers to `POST /servers` and `POST /servers/{id}/action`, in turn: status line and
    /// body, in which `{user_data}` stands for the `user_data` the request sent.
    server_posts: std::collections::VecDeque<(&'static str, String)>,
    /// The `user_data` each of those requests sent.
    user_data_sent: Vec<String>,
}

type Shared = std::sync::Arc<std::sync::Mutex<Script>>;

fn scripted_cloud(script: Script) -> (String, Shared) {
    use std::io::Write;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let shared: Shared = std::sync::Arc::new(std::sync::Mutex::new(script));
    let state = shared.clone();
    let base_ = base.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then the body by Content-Length.
            let (head, request_body) = loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                data.extend_from_slice(&buf[..n]);
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&data[..end]).to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    while data.len() < end + 4 + len {
                        let n = stream.read(&mut buf).unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        data.extend_from_slice(&buf[..n]);
                    }
                    break (head, data[end + 4..].to_vec());
                }
            };
            let mut lines = head.lines();
            let request_line = lines.next().unwrap_or_default().to_owned();
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                    })
                    .unwrap_or_default()
            };
            let mut parts = request_line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let path = parts.next().unwrap_or_default().to_owned();
            let token = header("x-auth-token");
            let mut s = state.lock().unwrap();
            s.log.push(format!(
                "{method} {path} {token} {}",
                header("openstack-api-version")
            ));
            let (status, extra, body) = if method == "POST" && path == "/v3/auth/tokens" {
                s.issued += 1;
                let expires = format!("2030-01-01T00:00:{:02}.000000Z", s.lifetime);
                let body = serde_json::json!({"token": {
                "issued_at": "2030-01-01T00:00:00.000000Z",
                "expires_at": expires,
                "catalog": [
                    {"type": "compute", "endpoints": [
                        {"interface": "internal", "region": "RegionOne", "url": format!("{base_}/wrong")},
                        {"interface": "public", "region": "RegionOne", "url": format!("{base_}/v2.1")}]},
                    {"type": "image", "endpoints": [
                        {"interface": "public", "region": "RegionOne", "url": format!("{base_}/image")}]},
                ]}});
                (
                    "201 Created",
                    format!("X-Subject-Token: t{}\r\n", s.issued),
                    body.to_string(),
                )
            } else if path == "/v2.1/" {
                let body =
                    serde_json::json!({"version": {"version": s.nova_max, "min_version": "2.1"}});
                ("200 OK", String::new(), body.to_string())
            } else if s.refuse_all || s.refused.contains(&token) {
                let body = r#"{"error": {"code": 401, "message": "The request you have made requires authentication."}}"#;
                ("401 Unauthorized", String::new(), body.to_owned())
            } else if method == "POST" && path.starts_with("/v2.1/servers") {
                let sent: serde_json::Value =
                    serde_json::from_slice(&request_body).unwrap_or_default();
                let user_data = ["server", "rebuild"]
                    .iter()
                    .find_map(|k| sent[k]["user_data"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                s.user_data_sent.push(user_data.clone());
                let (status, body) = s
                    .server_posts
                    .pop_front()
                    .unwrap_or(("500 Internal Server Error", "{}".to_owned()));
                (
                    status,
                    String::new(),
                    body.replace("{user_data}", &user_data),
                )
            } else if path.starts_with("/v2.1/flavors/detail") {
                let body = r#"{"flavors": [{"id": "f1", "name": "small", "vcpus": 1, "ram": 512, "disk": 5}]}"#;
                ("200 OK", String::new(), body.to_owned())
            } else {
                ("404 Not Found", String::new(), "{}".to_owned())
            };
            drop(s);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
                body.len()
            );
        }
    });
    (base, shared)
}

fn scripted_config(base: &str) -> CloudConfig {
    let mut config = offline_config(&format!("{base}/v3"));
    config.region_name = Some("RegionOne".into());
    config
}

fn compute_log(shared: &Shared) -> Vec<String> {
    let s = shared.lock().unwrap();
    s.log
        .iter()
        .filter(|l| l.contains("/v2.1/flavors") || l.starts_with("POST /v3"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_refused_token_is_renewed_once_and_the_request_sent_again() {
    let (base, shared) = scripted_cloud(Script {
        refused: vec!["t1".into()],
        lifetime: 59,
        nova_max: "2.95",
        ..Script::default()
    });
    let cloud = OpenStack::connect(scripted_config(&base), Options::default())
        .await
        .unwrap();
    assert_eq!(cloud.compute_microversion(), "2.90");
    let flavor = cloud.find_flavor("small").await.unwrap().unwrap();
    assert_eq!(flavor.id, "f1");
    assert_eq!(
        compute_log(&shared),
        [
            "POST /v3/auth/tokens  ",
            "GET /v2.1/flavors/detail t1 compute 2.90",
            "POST /v3/auth/tokens  ",
            "GET /v2.1/flavors/detail t2 compute 2.90",
        ]
    );
    // The public endpoint was chosen, and Nova's microversion header sent too.
    assert!(
        !shared
            .lock()
            .unwrap()
            .log
            .iter()
            .any(|l| l.contains("/wrong"))
    );
}

#[tokio::test]
async fn a_token_refused_twice_is_an_auth_error_without_a_loop() {
    let (base, shared) = scripted_cloud(Script {
        refuse_all: true,
        lifetime: 59,
        nova_max: "2.104",
        ..Script::default()
    });
    let cloud = OpenStack::connect(scripted_config(&base), Options::default())
        .await
        .unwrap();
    let e = cloud.find_flavor("small").await.unwrap_err();
    assert!(matches!(e, CloudError::Auth(_)), "{e:?}");
    assert!(e.to_string().contains("requires authentication"), "{e}");
    assert_eq!(shared.lock().unwrap().issued, 2);
    assert_eq!(compute_log(&shared).len(), 4);
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires() {
    let (base, shared) = scripted_cloud(Script {
        lifetime: 1,
        nova_max: "2.90",
        ..Script::default()
    });
    let cloud = OpenStack::connect(scripted_config(&base), Options::default())
        .await
        .unwrap();
    cloud.find_flavor("small").await.unwrap();
    cloud.find_flavor("small").await.unwrap();
    assert_eq!(shared.lock().unwrap().issued, 1);
    // The token lives 1 s and is renewed at 90% of that.
    tokio::time::sleep(Duration::from_millis(950)).await;
    cloud.find_flavor("small").await.unwrap();
    assert_eq!(
        compute_log(&shared),
        [
            "POST /v3/auth/tokens  ",
            "GET /v2.1/flavors/detail t1 compute 2.90",
            "GET /v2.1/flavors/detail t1 compute 2.90",
            "POST /v3/auth/tokens  ",
            "GET /v2.1/flavors/detail t2 compute 2.90",
        ]
    );
}

#[tokio::test]
async fn a_nova_without_tags_at_create_is_refused() {
    let (base, _) = scripted_cloud(Script {
        lifetime: 59,
        nova_max: "2.51",
        ..Script::default()
    });
    let e = OpenStack::connect(scripted_config(&base), Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, CloudError::Rejected(_)), "{e:?}");
    assert!(
        e.to_string().contains("up to 2.51; the agent needs 2.52"),
        "{e}"
    );
}

/// A server to create with `user_data`.
fn scripted_server(user_data: &str) -> CreateServer {
    CreateServer {
        name: "utter-scripted".into(),
        flavor_id: "f1".into(),
        image_id: "i1".into(),
        tags: vec!["utter-scripted".into()],
        metadata: Default::default(),
        user_data: user_data.into(),
    }
}

/// Nova's error body: `{"<kind>": {"code": <code>, "message": <message>}}`.
fn nova_error(kind: &str, code: u16, message: &str) -> String {
    serde_json::json!({ kind: {"code": code, "message": message} }).to_string()
}

#[tokio::test]
async fn nova_quota_403_is_rejected_and_policy_403_is_auth() {
    let instances =
        "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances";
    let cores = "Quota exceeded for cores: Requested 2, but already used 20 of 20 cores";
    let policy = "Policy doesn't allow os_compute_api:servers:create to be performed.";
    let (base, shared) = scripted_cloud(Script {
        lifetime: 59,
        nova_max: "2.90",
        server_posts: [
            ("403 Forbidden", nova_error("forbidden", 403, instances)),
            ("403 Forbidden", nova_error("forbidden", 403, cores)),
            ("403 Forbidden", nova_error("forbidden", 403, policy)),
        ]
        .into(),
        ..Script::default()
    });
    let cloud = OpenStack::connect(scripted_config(&base), Options::default())
        .await
        .unwrap();
    for quota in [instances, cores] {
        let e = cloud
            .create_server(&scripted_server("#cloud-config\n"))
            .await
            .unwrap_err();
        assert!(matches!(e, CloudError::Rejected(_)), "{e:?}");
        let text = e.to_string();
        assert!(text.contains(quota), "{text}");
        assert!(text.contains("POST /servers: 403 Forbidden"), "{text}");
        assert!(!text.contains("credentials"), "{text}");
        assert!(!e.is_transient());
    }
    let e = cloud
        .create_server(&scripted_server("#cloud-config\n"))
        .await
        .unwrap_err();
    assert!(matches!(e, CloudError::Auth(_)), "{e:?}");
    assert!(e.to_string().contains(policy), "{e}");
    // Each answer was to a create the client sent (not a renewal's retry).
    assert_eq!(shared.lock().unwrap().user_data_sent.len(), 3);
    assert_eq!(shared.lock().unwrap().issued, 1);
}

#[tokio::test]
async fn user_data_quoted_in_a_refusal_is_redacted() {
    use base64::Engine as _;
    let user_data = format!(
        "#cloud-config\nchpasswd:\n  list: |\n    root:buyer-secret-Zq9\nwrite_files:\n  - path: /etc/token\n    content: {}\n",
        "tok-4f1e9c".repeat(30)
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(&user_data);
    let (base, shared) = scripted_cloud(Script {
        lifetime: 59,
        nova_max: "2.90",
        server_posts: [
            // Nova's JSON-schema refusal quotes the value twice.
            (
                "400 Bad Request",
                nova_error(
                    "badRequest",
                    400,
                    "Invalid input for field/attribute user_data. Value: {user_data}. '{user_data}' is too long",
                ),
            ),
            // A gateway's plain-text refusal, which the client cuts short: a prefix remains.
            (
                "400 Bad Request",
                "Request refused by the gateway: user_data={user_data}".to_owned(),
            ),
            // The same from a rebuild.
            (
                "400 Bad Request",
                nova_error(
                    "badRequest",
                    400,
                    "Invalid input for field/attribute user_data. Value: {user_data}. '{user_data}' is too long",
                ),
            ),
        ]
        .into(),
        ..Script::default()
    });
    let cloud = OpenStack::connect(scripted_config(&base), Options::default())
        .await
        .unwrap();
    let server = scripted_server(&user_data);
    let too_long = cloud.create_server(&server).await.unwrap_err();
    let gateway = cloud.create_server(&server).await.unwrap_err();
    let rebuild = cloud
        .rebuild_server("s1", "i1", &user_data)
        .await
        .unwrap_err();
    // The cloud was sent the user data, and quoted it.
    assert_eq!(shared.lock().unwrap().user_data_sent, [encoded.as_str(); 3]);

    for e in [&too_long, &gateway, &rebuild] {
        assert!(matches!(e, CloudError::Rejected(_)), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("400 Bad Request"), "{text}");
        assert!(text.contains("<user data>"), "{text}");
        assert!(!text.contains(&encoded[..40]), "{text}");
        for piece in encoded.as_bytes().chunks(40) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(piece.len() < 40 || !text.contains(piece), "{text}");
        }
        assert!(!text.contains("buyer-secret"), "{text}");
    }
    // What was wrong is still said.
    for e in [&too_long, &rebuild] {
        let text = e.to_string();
        assert!(
            text.contains(
                "Invalid input for field/attribute user_data. Value: <user data>. '<user data>' is too long"
            ),
            "{text}"
        );
    }
    assert!(
        gateway.to_string().ends_with("user_data=<user data>…"),
        "{gateway}"
    );
    assert!(
        too_long.to_string().contains("POST /servers:"),
        "{too_long}"
    );
    assert!(
        rebuild.to_string().contains("POST /servers/s1/action:"),
        "{rebuild}"
    );
}

// ---------------------------------------------------------------- the lab

/// The lab's clouds.yaml, or `None` (after printing SKIPPED) when no lab is given.
fn lab() -> Option<PathBuf> {
    match std::env::var_os(LAB_ENV) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            eprintln!("SKIPPED: no OpenStack lab ({LAB_ENV} unset)");
            None
        }
    }
}

async fn connect(path: &Path, cloud: &str) -> OpenStack {
    let config = clouds_yaml::load(Some(path), cloud).unwrap();
    OpenStack::connect(config, Options::default())
        .await
        .unwrap_or_else(|e| panic!("connect to {cloud}: {e}"))
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("utter-openstack-test-{name}")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Polls the server until `done` holds (bounded); returns it and how long it took.
async fn wait_for(
    cloud: &OpenStack,
    id: &str,
    what: &str,
    done: impl Fn(Option<&CloudServer>) -> bool,
) -> (Option<CloudServer>, Duration) {
    let started = Instant::now();
    loop {
        let server = cloud.get_server(id).await.unwrap();
        if done(server.as_ref()) {
            return (server, started.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "server {id} not {what} after 90 s: {server:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn has_status(status: ServerStatus) -> impl Fn(Option<&CloudServer>) -> bool {
    move |s| s.is_some_and(|s| s.status == status)
}

#[tokio::test]
async fn lab_auth_flavors_images_room() {
    let Some(path) = lab() else { return };
    for cloud_name in ["utter-lab", "utter-lab-appcred"] {
        let started = Instant::now();
        let cloud = connect(&path, cloud_name).await;
        eprintln!(
            "{cloud_name}: connected in {:?}, compute microversion {}",
            started.elapsed(),
            cloud.compute_microversion()
        );
        assert_eq!(cloud.compute_microversion(), "2.90");
        assert!(!format!("{cloud:?}").contains("secret"));

        let small = cloud.find_flavor("utter.small").await.unwrap().unwrap();
        assert_eq!(small.name, "utter.small");
        assert_eq!(
            (small.vcpus, small.ram_mib, small.disk_gib),
            (1, 512, 5),
            "{small:?}"
        );
        let medium = cloud.find_flavor("utter.medium").await.unwrap().unwrap();
        assert_eq!(
            (medium.vcpus, medium.ram_mib, medium.disk_gib),
            (2, 2048, 20)
        );
        assert_eq!(cloud.find_flavor("no-such-flavor").await.unwrap(), None);

        let image = cloud.find_image("utter-tiny").await.unwrap();
        assert!(
            image.as_deref().is_some_and(|id| id.len() == 36),
            "{image:?}"
        );
        assert_eq!(cloud.find_image("no-such-image").await.unwrap(), None);

        // The lab's quotas are unlimited (-1) unless a test lowered them.
        let room = cloud.room().await.unwrap();
        eprintln!("{cloud_name}: room {room:?}");
    }
}

#[tokio::test]
async fn lab_server_lifecycle() {
    let Some(path) = lab() else { return };
    let cloud = connect(&path, "utter-lab").await;
    let flavor = cloud.find_flavor("utter.small").await.unwrap().unwrap();
    let image = cloud.find_image("utter-tiny").await.unwrap().unwrap();
    let tag = unique("utter-test-lease");
    let other_tag = format!("{tag}-other");
    let request = CreateServer {
        name: tag.clone(),
        flavor_id: flavor.id.clone(),
        image_id: image,
        tags: vec![tag.clone(), "utter-test".into()],
        metadata: [("lease".to_owned(), "42".to_owned())].into(),
        user_data: "#cloud-config\nusers: []\n".into(),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let started = Instant::now();
    let id = cloud.create_server(&request).await.unwrap();
    let create_call = started.elapsed();

    // Right after the create: BUILD (or already ACTIVE: the fake driver is quick).
    let first = cloud.get_server(&id).await.unwrap().expect("just created");
    assert!(
        matches!(first.status, ServerStatus::Building | ServerStatus::Active),
        "{first:?}"
    );
    assert_eq!(first.name, tag);
    assert!(first.tags.contains(&tag), "{first:?}");
    assert!(
        first.created_at + 60 >= now && first.created_at <= now + 60,
        "{first:?} vs {now}"
    );

    let (active, _) = wait_for(&cloud, &id, "ACTIVE", has_status(ServerStatus::Active)).await;
    let to_active = started.elapsed();
    assert_eq!(active.unwrap().fault, None);
    eprintln!("create call {create_call:?}, create -> ACTIVE {to_active:?}");

    // Listing by tag finds exactly this server; another tag finds nothing.
    let listed = cloud.list_servers(&tag).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].status, ServerStatus::Active);
    assert!(listed[0].tags.contains(&"utter-test".to_owned()));
    assert!(cloud.list_servers(&other_tag).await.unwrap().is_empty());

    // Stop -> SHUTOFF; stopping again is no error.
    let t = Instant::now();
    cloud.stop_server(&id).await.unwrap();
    let (_, _) = wait_for(&cloud, &id, "SHUTOFF", has_status(ServerStatus::Shutoff)).await;
    eprintln!("stop -> SHUTOFF {:?}", t.elapsed());
    cloud.stop_server(&id).await.unwrap();

    // Start -> ACTIVE; starting again is no error.
    let t = Instant::now();
    cloud.start_server(&id).await.unwrap();
    let (_, _) = wait_for(&cloud, &id, "ACTIVE", has_status(ServerStatus::Active)).await;
    eprintln!("start -> ACTIVE {:?}", t.elapsed());
    cloud.start_server(&id).await.unwrap();

    let console = cloud.console_log(&id, 10).await.unwrap();
    assert!(!console.is_empty(), "empty console");
    eprintln!("console: {console:?}");

    // Delete -> gone; deleting again is no error; actions on it are NotFound.
    let t = Instant::now();
    cloud.delete_server(&id).await.unwrap();
    let (_, _) = wait_for(&cloud, &id, "deleted", |s| s.is_none()).await;
    eprintln!("delete -> gone {:?}", t.elapsed());
    cloud.delete_server(&id).await.unwrap();
    assert!(cloud.list_servers(&tag).await.unwrap().is_empty());
    assert!(matches!(
        cloud.console_log(&id, 10).await,
        Err(CloudError::NotFound(_))
    ));
    assert!(matches!(
        cloud.start_server(&id).await,
        Err(CloudError::NotFound(_))
    ));
    assert_eq!(
        cloud
            .get_server("00000000-0000-0000-0000-000000000000")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn lab_server_that_cannot_boot_goes_error_with_fault() {
    let Some(path) = lab() else { return };
    let cloud = connect(&path, "utter-lab").await;
    let flavor = cloud.find_flavor("utter.noroom").await.unwrap().unwrap();
    let image = cloud.find_image("utter-tiny").await.unwrap().unwrap();
    let tag = unique("utter-test-noroom");
    let id = cloud
        .create_server(&CreateServer {
            name: tag.clone(),
            flavor_id: flavor.id,
            image_id: image,
            tags: vec![tag.clone()],
            metadata: Default::default(),
            user_data: String::new(),
        })
        .await
        .unwrap();
    let (server, took) = wait_for(&cloud, &id, "ERROR", has_status(ServerStatus::Error)).await;
    let server = server.unwrap();
    eprintln!("create -> ERROR {took:?}: {:?}", server.fault);
    assert!(
        server
            .fault
            .as_deref()
            .is_some_and(|f| f.contains("No valid host")),
        "{server:?}"
    );
    assert_eq!(cloud.list_servers(&tag).await.unwrap().len(), 1);
    cloud.delete_server(&id).await.unwrap();
    wait_for(&cloud, &id, "deleted", |s| s.is_none()).await;
}

#[tokio::test]
async fn lab_bad_requests_are_rejected() {
    let Some(path) = lab() else { return };
    let cloud = connect(&path, "utter-lab").await;
    let image = cloud.find_image("utter-tiny").await.unwrap().unwrap();
    let base = CreateServer {
        name: unique("utter-test-bad"),
        flavor_id: "no-such-flavor".into(),
        image_id: image,
        tags: vec![unique("utter-test-bad")],
        metadata: Default::default(),
        user_data: String::new(),
    };
    let e = cloud.create_server(&base).await.unwrap_err();
    assert!(matches!(e, CloudError::Rejected(_)), "{e:?}");
    assert!(e.to_string().contains("no-such-flavor"), "{e}");
    assert!(!e.is_transient());

    // Nova's tags are at most 60 characters.
    let flavor = cloud.find_flavor("utter.small").await.unwrap().unwrap();
    let e = cloud
        .create_server(&CreateServer {
            flavor_id: flavor.id,
            tags: vec!["t".repeat(61)],
            ..base
        })
        .await
        .unwrap_err();
    assert!(matches!(e, CloudError::Rejected(_)), "{e:?}");
    eprintln!("{e}");
}

#[tokio::test]
async fn lab_wrong_credentials_are_auth_errors() {
    let Some(path) = lab() else { return };
    let mut config = clouds_yaml::load(Some(&path), "utter-lab").unwrap();
    let Auth::Password { password, .. } = &mut config.auth else {
        panic!("utter-lab uses a password")
    };
    *password = Secret::new("not-the-password");
    let e = OpenStack::connect(config, Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, CloudError::Auth(_)), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("cloud `utter-lab`"), "{text}");
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");
    eprintln!("{text}");

    let mut config = clouds_yaml::load(Some(&path), "utter-lab-appcred").unwrap();
    let Auth::ApplicationCredential { secret, .. } = &mut config.auth else {
        panic!("utter-lab-appcred uses an application credential")
    };
    *secret = Secret::new("wrong");
    let e = OpenStack::connect(config, Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, CloudError::Auth(_)), "{e:?}");
}

#[tokio::test]
async fn lab_unknown_cloud_is_a_clear_error() {
    let Some(path) = lab() else { return };
    let e = clouds_yaml::load(Some(&path), "no-such-cloud")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "{} has no cloud named `no-such-cloud`",
            path.display()
        )),
        "{e}"
    );
    assert!(e.contains("utter-lab"), "{e}");
}

#[tokio::test]
async fn lab_servers_on_a_network_hold_floating_ips() {
    let Some(path) = lab() else { return };
    let config = clouds_yaml::load(Some(&path), "utter-lab").unwrap();
    // A network named by name is resolved to its id on connecting; an unknown one is refused.
    let unknown = OpenStack::connect(
        config.clone(),
        Options {
            network: "no-such-network".parse().unwrap(),
            ..Options::default()
        },
    )
    .await
    .expect_err("an unknown network");
    assert!(
        matches!(&unknown, CloudError::NotFound(m) if m.contains("no-such-network")),
        "{unknown}"
    );
    let cloud = OpenStack::connect(
        config,
        Options {
            network: "private".parse().unwrap(),
            ..Options::default()
        },
    )
    .await
    .expect("connects with the private network");
    let public = cloud.find_network("public").await.unwrap().expect("public");
    assert!(public.external, "{public:?}");
    assert_eq!(
        cloud.find_network(&public.id).await.unwrap().as_ref(),
        Some(&public),
        "by id as by name"
    );
    let private = cloud
        .find_network("private")
        .await
        .unwrap()
        .expect("private");
    assert!(!private.external, "{private:?}");
    assert_eq!(cloud.find_network("no-such-network").await.unwrap(), None);

    let flavor = cloud.find_flavor("utter.small").await.unwrap().unwrap();
    let image = cloud.find_image("utter-tiny").await.unwrap().unwrap();
    let tag = unique("utter-test-fip");
    let request = |name: &str| CreateServer {
        name: name.to_owned(),
        flavor_id: flavor.id.clone(),
        image_id: image.clone(),
        tags: vec![tag.clone()],
        metadata: Default::default(),
        user_data: String::new(),
    };
    let a = cloud
        .create_server(&request(&format!("{tag}-a")))
        .await
        .unwrap();
    let b = cloud
        .create_server(&request(&format!("{tag}-b")))
        .await
        .unwrap();
    for id in [&a, &b] {
        wait_for(&cloud, id, "ACTIVE", has_status(ServerStatus::Active)).await;
    }
    // Nova gave each server a port on the private network.
    let port_a = cloud.server_ports(&a).await.unwrap();
    let port_b = cloud.server_ports(&b).await.unwrap();
    assert_eq!(
        (port_a.len(), port_b.len()),
        (1, 1),
        "{port_a:?} {port_b:?}"
    );
    assert_ne!(port_a, port_b);

    let description = format!("{tag} utter-lease:1");
    let ip = cloud
        .create_floating_ip(&public.id, &port_a[0], &description)
        .await
        .unwrap();
    assert!(ip.address.starts_with("203.0.113."), "{ip:?}");
    assert_eq!(ip.port_id.as_deref(), Some(port_a[0].as_str()));
    assert_eq!(ip.description, description);
    let listed = cloud.floating_ips(&public.id).await.unwrap();
    assert!(listed.contains(&ip), "{listed:?}");
    // One port holds one floating IP: Neutron's 409 is a rejection, not worth retrying.
    let twice = cloud
        .create_floating_ip(&public.id, &port_a[0], &description)
        .await
        .expect_err("a second address on the same port");
    assert!(matches!(twice, CloudError::Rejected(_)), "{twice}");
    // Not from an internal network.
    let internal = cloud
        .create_floating_ip(&private.id, &port_b[0], &description)
        .await
        .expect_err("an internal network has no floating IPs");
    assert!(matches!(internal, CloudError::Rejected(_)), "{internal}");

    // Moved to the other server: same address.
    let moved = cloud
        .associate_floating_ip(&ip.id, &port_b[0])
        .await
        .unwrap();
    assert_eq!(
        (moved.address.as_str(), moved.port_id.as_deref()),
        (ip.address.as_str(), Some(port_b[0].as_str()))
    );
    // Deleting its server leaves the address allocated but unassociated, as Neutron does.
    cloud.delete_server(&b).await.unwrap();
    wait_for(&cloud, &b, "deleted", |s| s.is_none()).await;
    let after = cloud.floating_ips(&public.id).await.unwrap();
    let kept = after
        .iter()
        .find(|i| i.id == ip.id)
        .expect("still allocated");
    assert_eq!(kept.port_id, None, "{kept:?}");
    assert!(cloud.server_ports(&b).await.unwrap().is_empty());

    // Released; releasing again is no error.
    cloud.delete_floating_ip(&ip.id).await.unwrap();
    cloud.delete_floating_ip(&ip.id).await.unwrap();
    assert!(
        !cloud
            .floating_ips(&public.id)
            .await
            .unwrap()
            .iter()
            .any(|i| i.id == ip.id)
    );
    cloud.delete_server(&a).await.unwrap();
    wait_for(&cloud, &a, "deleted", |s| s.is_none()).await;
}
