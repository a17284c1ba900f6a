//! `deploy/`: the Kubernetes manifests that run volley across a cluster
//! (SPEC §7). The manifests are read as YAML and checked for what the
//! sharding depends on: an Indexed Job of N pods started together, each
//! running `--shard auto/N` and saving to a file named by its index on a
//! shared volume, and a merge step that reads those same files. Then their
//! own command lines are run, as the pods would run them, against a server
//! on 127.0.0.1 for a fraction of a second.
//!
//! A full schema check of the manifests is `kubernetes-validate` in
//! `.ci/run`; this test owns the relations between fields that no schema
//! knows about.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::volley_bin;
use volley_server::{ServeConfig, Server};
use yaml_rust2::{Yaml, YamlLoader};

/// The variable Kubernetes sets to the pod's index in an Indexed Job.
const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// The pod annotation that holds the index (the downward API's source).
const INDEX_FIELD: &str = "metadata.annotations['batch.kubernetes.io/job-completion-index']";

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Every YAML document under deploy/kubernetes/, with its file name.
fn documents() -> Vec<(String, Yaml)> {
    let dir = deploy_dir().join("kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    let mut docs = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for doc in parsed.into_iter().filter(|d| !d.is_null()) {
            assert!(
                doc.as_hash().is_some(),
                "{name}: a document that is not a mapping: {doc:?}"
            );
            docs.push((name.clone(), doc));
        }
    }
    docs
}

fn text<'a>(y: &'a Yaml, what: &str) -> &'a str {
    y.as_str()
        .unwrap_or_else(|| panic!("{what}: expected a string, found {y:?}"))
}

fn int(y: &Yaml, what: &str) -> i64 {
    y.as_i64()
        .unwrap_or_else(|| panic!("{what}: expected an integer, found {y:?}"))
}

fn list<'a>(y: &'a Yaml, what: &str) -> &'a [Yaml] {
    y.as_vec()
        .unwrap_or_else(|| panic!("{what}: expected a list, found {y:?}"))
}

fn name(doc: &Yaml) -> &str {
    text(&doc["metadata"]["name"], "metadata.name")
}

/// The shard Job (the one Indexed Job) and the merge Job (the other Job).
fn jobs(docs: &[(String, Yaml)]) -> (&Yaml, &Yaml) {
    let jobs: Vec<&Yaml> = docs
        .iter()
        .map(|(_, d)| d)
        .filter(|d| d["kind"].as_str() == Some("Job"))
        .collect();
    let (indexed, other): (Vec<&Yaml>, Vec<&Yaml>) = jobs
        .into_iter()
        .partition(|j| j["spec"]["completionMode"].as_str() == Some("Indexed"));
    assert_eq!(
        indexed.len(),
        1,
        "one Indexed Job runs the shards: {indexed:?}"
    );
    assert_eq!(other.len(), 1, "one more Job merges the results: {other:?}");
    (indexed[0], other[0])
}

/// The only container of a Job's pods.
fn container(job: &Yaml) -> &Yaml {
    let containers = list(&job["spec"]["template"]["spec"]["containers"], "containers");
    assert_eq!(containers.len(), 1, "{}: one container", name(job));
    &containers[0]
}

/// The image's entrypoint, from deploy/Dockerfile (its last ENTRYPOINT).
fn entrypoint() -> Vec<String> {
    let dockerfile = std::fs::read_to_string(deploy_dir().join("Dockerfile")).unwrap();
    let line = dockerfile
        .lines()
        .rfind(|l| l.trim_start().starts_with("ENTRYPOINT"))
        .expect("deploy/Dockerfile has an ENTRYPOINT");
    let json = line.trim_start().trim_start_matches("ENTRYPOINT").trim();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("exec form expected, {line:?}: {e}"))
}

/// The process a container runs: its command (or the image's entrypoint)
/// and then its args, before Kubernetes expands `$(NAME)`.
fn argv(c: &Yaml) -> Vec<String> {
    let strings = |y: &Yaml, what: &str| -> Vec<String> {
        list(y, what)
            .iter()
            .map(|a| text(a, what).to_owned())
            .collect()
    };
    let mut argv = if c["command"].is_badvalue() {
        entrypoint()
    } else {
        strings(&c["command"], "command")
    };
    if !c["args"].is_badvalue() {
        argv.extend(strings(&c["args"], "args"));
    }
    argv
}

/// The value of `flag` in `argv` (`--flag VALUE` or `--flag=VALUE`).
fn flag<'a>(argv: &'a [String], flag: &str) -> Option<&'a str> {
    argv.iter().enumerate().find_map(|(i, a)| {
        if a == flag {
            argv.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix(flag).and_then(|v| v.strip_prefix('='))
        }
    })
}

/// The container's environment: name → literal value, or the fieldRef path
/// for a variable from the downward API.
fn env(c: &Yaml) -> HashMap<String, String> {
    let Some(vars) = c["env"].as_vec() else {
        return HashMap::new();
    };
    vars.iter()
        .map(|v| {
            let key = text(&v["name"], "env name").to_owned();
            let value = match v["value"].as_str() {
                Some(s) => s.to_owned(),
                None => text(&v["valueFrom"]["fieldRef"]["fieldPath"], &key).to_owned(),
            };
            (key, value)
        })
        .collect()
}

/// The `$(NAME)` references in `s`.
fn references(s: &str) -> Vec<&str> {
    s.match_indices("$(")
        .filter_map(|(i, _)| s[i + 2..].split_once(')').map(|(n, _)| n))
        .collect()
}

/// `s` with every `$(NAME)` replaced from `vars`, as the kubelet expands
/// command and args; a name not in `vars` is a failure here, where the
/// kubelet would leave it as it is.
fn expand(s: &str, vars: &HashMap<&str, String>) -> String {
    let mut out = s.to_owned();
    for r in references(s) {
        let value = vars
            .get(r)
            .unwrap_or_else(|| panic!("$({r}) in {s:?} is not declared"));
        out = out.replace(&format!("$({r})"), value);
    }
    out
}

/// The mount of `path` in `c` (the longest mountPath it lies under) and the
/// claim of the volume mounted there.
fn claim_of<'a>(job: &'a Yaml, c: &'a Yaml, path: &str) -> (&'a str, &'a str) {
    let (mount, volume) = list(&c["volumeMounts"], "volumeMounts")
        .iter()
        .map(|m| {
            (
                text(&m["mountPath"], "mountPath"),
                text(&m["name"], "volumeMounts.name"),
            )
        })
        .filter(|(m, _)| {
            path.strip_prefix(m.trim_end_matches('/'))
                .is_some_and(|r| r.starts_with('/'))
        })
        .max_by_key(|(m, _)| m.len())
        .unwrap_or_else(|| panic!("{}: {path} is on no mounted volume", name(job)));
    let volumes = list(&job["spec"]["template"]["spec"]["volumes"], "volumes");
    let v = volumes
        .iter()
        .find(|v| v["name"].as_str() == Some(volume))
        .unwrap_or_else(|| panic!("{}: no volume {volume}", name(job)));
    let claim = text(
        &v["persistentVolumeClaim"]["claimName"],
        "persistentVolumeClaim.claimName",
    );
    (mount, claim)
}

/// The merge container's shell script (`sh -c SCRIPT`).
fn merge_script(job: &Yaml) -> String {
    let argv = argv(container(job));
    match argv.as_slice() {
        [sh, c, script] if (sh == "sh" || sh == "/bin/sh") && c == "-c" => script.clone(),
        other => panic!(
            "{}: expected sh -c SCRIPT (for the glob), found {other:?}",
            name(job)
        ),
    }
}

/// What the tests need of the shard Job.
struct ShardJob<'a> {
    job: &'a Yaml,
    count: usize,
    argv: Vec<String>,
    env: HashMap<String, String>,
    save: String,
}

fn shard_job(docs: &[(String, Yaml)]) -> ShardJob<'_> {
    let (job, _) = jobs(docs);
    let c = container(job);
    let argv = argv(c);
    let save = flag(&argv, "--save")
        .expect("the shards --save their results")
        .to_owned();
    let count = int(&job["spec"]["completions"], "completions");
    ShardJob {
        job,
        count: usize::try_from(count).unwrap(),
        env: env(c),
        save,
        argv,
    }
}

#[test]
fn the_shards_are_one_indexed_job_of_n_pods() {
    let docs = documents();
    let s = shard_job(&docs);
    let job = s.job;
    let spec = &job["spec"];
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    assert!(s.count >= 1);
    // All N pods at once, so that the shards run side by side.
    assert_eq!(
        int(&spec["parallelism"], "parallelism"),
        int(&spec["completions"], "completions"),
        "parallelism must equal completions"
    );
    // A load test is not retried silently, and a pod is not restarted.
    assert_eq!(int(&spec["backoffLimit"], "backoffLimit"), 0);
    assert_eq!(
        spec["template"]["spec"]["restartPolicy"].as_str(),
        Some("Never"),
        "restartPolicy"
    );

    // The container runs volley as shard I of the same N, I from the index.
    assert_eq!(
        s.argv.first().map(String::as_str),
        Some("volley"),
        "the container runs volley: {:?}",
        s.argv
    );
    assert_eq!(
        flag(&s.argv, "--shard"),
        Some(format!("auto/{}", s.count).as_str()),
        "--shard auto/N with N = completions = {}: {:?}",
        s.count,
        s.argv
    );

    // Each pod saves to its own file, named by its index: the index is
    // declared in the container's env (from the pod annotation), so that
    // the kubelet expands $(JOB_COMPLETION_INDEX) in the args.
    assert_eq!(
        s.save.matches(&format!("$({INDEX_ENV})")).count(),
        1,
        "--save names one file per index: {}",
        s.save
    );
    assert!(
        Path::new(&s.save).is_absolute() && s.save.ends_with(".json"),
        "{}",
        s.save
    );
    assert_eq!(
        s.env.get(INDEX_ENV).map(String::as_str),
        Some(INDEX_FIELD),
        "{INDEX_ENV} is declared in the container's env, from the pod annotation"
    );
    for arg in &s.argv {
        for r in references(arg) {
            assert!(
                s.env.contains_key(r),
                "$({r}) in {arg:?} is not in the container's env"
            );
        }
    }

    // The files are on a volume every pod shares: a ReadWriteMany claim
    // defined beside the Job.
    let (_, claim) = claim_of(job, container(job), &s.save);
    let pvc = docs
        .iter()
        .map(|(_, d)| d)
        .find(|d| d["kind"].as_str() == Some("PersistentVolumeClaim") && name(d) == claim)
        .unwrap_or_else(|| panic!("the claim {claim} is not among the manifests"));
    let modes: Vec<&str> = list(&pvc["spec"]["accessModes"], "accessModes")
        .iter()
        .map(|m| text(m, "accessModes"))
        .collect();
    assert!(modes.contains(&"ReadWriteMany"), "{claim}: {modes:?}");

    // README.md shows the pods' command line as it is.
    let readme = std::fs::read_to_string(deploy_dir().join("../README.md")).unwrap();
    let line = s.argv.join(" ");
    assert!(
        readme.contains(&line),
        "README.md shows the manifest's command line: {line}"
    );

    // The image's volley is on PATH, for the merge's `sh -c`.
    let dockerfile = std::fs::read_to_string(deploy_dir().join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("/usr/local/bin/volley"),
        "deploy/Dockerfile"
    );
}

#[test]
fn the_merge_reads_the_files_the_shards_write() {
    let docs = documents();
    let s = shard_job(&docs);
    let (_, merge) = jobs(&docs);
    assert_eq!(merge["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(
        merge["spec"]["template"]["spec"]["restartPolicy"].as_str(),
        Some("Never")
    );
    let script = merge_script(merge);
    let glob = s.save.replace(&format!("$({INDEX_ENV})"), "*");
    assert!(
        script.contains(&format!("volley merge {glob}")),
        "the merge step reads {glob}: {script:?}"
    );
    // The same path means the same files: the same claim, mounted at the
    // same place.
    assert_eq!(
        claim_of(merge, container(merge), &glob),
        claim_of(s.job, container(s.job), &s.save),
        "the merge mounts the shards' volume where they do"
    );
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run")
}

fn show(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_manifests_command_lines_run() {
    let docs = documents();
    let s = shard_job(&docs);
    let (_, merge) = jobs(&docs);
    let (mount, _) = claim_of(s.job, container(s.job), &s.save);
    let mount = mount.trim_end_matches('/').to_owned();

    let server = Server::spawn(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeConfig::default()
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("volley-deploy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let local = dir.to_str().unwrap();

    // The pods' command line, as the kubelet expands it in pod I, with the
    // target on loopback, the shared volume a local directory and a short
    // duration; everything else as in the manifest.
    let (duration, seconds) = ("300ms", 0.3);
    // One start time for every pod, a little ahead, as README says to set it.
    let start_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 1.5;
    let argv_of = |index: usize| -> Vec<String> {
        let mut vars: HashMap<&str, String> =
            s.env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        vars.insert(INDEX_ENV, index.to_string());
        vars.insert("TARGET_URL", format!("http://{}/", server.addr()));
        vars.insert("START_AT", format!("{start_at:.3}"));
        let mut argv: Vec<String> = s.argv[1..].iter().map(|a| expand(a, &vars)).collect();
        for (i, a) in argv.clone().iter().enumerate() {
            if let Some(rest) = a.strip_prefix(&mount).filter(|r| r.starts_with('/')) {
                argv[i] = format!("{local}{rest}");
            }
            if a == "--duration" || a == "-d" {
                argv[i + 1] = duration.into();
            } else if a.starts_with("--duration=") {
                argv[i] = format!("--duration={duration}");
            }
        }
        argv
    };
    let outs: Vec<Output> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..s.count)
            .map(|i| {
                let argv = argv_of(i);
                scope.spawn(move || {
                    run(Command::new(volley_bin())
                        .args(&argv)
                        .env(INDEX_ENV, i.to_string()))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(out.status.code(), Some(0), "shard {i}: {}", show(out));
        let save = s.save.replace(&format!("$({INDEX_ENV})"), &i.to_string());
        let saved = format!("{local}{}", save.strip_prefix(&mount).unwrap());
        let r: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
        assert_eq!(
            r["run"]["shard"],
            serde_json::json!({ "index": i, "count": s.count })
        );
        // --start-at $(START_AT): every pod's t0 at the one start time.
        let started = r["wall_start_unix_s"].as_f64().unwrap();
        assert!(
            (started - start_at).abs() < 0.01,
            "shard {i} started at {started}, not {start_at}"
        );
    }

    // The merge step's script, with volley on PATH as in the image.
    let script = merge_script(merge).replace(&mount, local);
    let bin_dir = volley_bin().parent().unwrap().to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let out = run(Command::new("sh").arg("-c").arg(&script).env("PATH", path));
    assert_eq!(out.status.code(), Some(0), "{script}: {}", show(&out));
    assert!(
        out.stderr.is_empty(),
        "no shard missing or doubled: {}",
        show(&out)
    );

    // The shards together are the whole test of the manifest.
    let rps: f64 = flag(&s.argv, "--rps").unwrap().parse().unwrap();
    let users: u64 = flag(&s.argv, "--users").unwrap().parse().unwrap();
    let merged_file = script
        .split_whitespace()
        .skip_while(|w| *w != "--save")
        .nth(1)
        .map(PathBuf::from)
        .expect("the merge saves the merged result");
    let m: Value = serde_json::from_slice(&std::fs::read(&merged_file).unwrap()).unwrap();
    assert_eq!(m["run"]["target_rps"].as_f64(), Some(rps));
    assert_eq!(m["run"]["users"].as_u64(), Some(users));
    assert_eq!(
        m["requests"]["scheduled"].as_u64(),
        Some((rps * seconds).round() as u64),
        "--rps × the duration, exactly"
    );
    let _ = std::fs::remove_dir_all(dir);
}
