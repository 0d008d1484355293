//! The loader never panics: every corpus file, cut short at many points and with bytes
//! flipped, either loads or returns a diagnostic.

use std::path::{Path, PathBuf};

use wharf::spec::{LoadOptions, load};

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        root.join("tests/corpus/awesome-compose"),
        root.join("specs"),
    ] {
        collect(&dir, &mut files);
    }
    files.sort();
    files
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn load_text(text: &str, dir: &Path) {
    let options = LoadOptions {
        files: vec!["-".to_string()],
        project_name: Some("fuzz".to_string()),
        cwd: dir.to_path_buf(),
        stdin: Some(text.to_string()),
        ..LoadOptions::default()
    };
    let _ = load(&options);
}

/// A small deterministic generator, so that a failure can be reproduced.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn mutated_compose_files_never_panic() {
    let files = corpus_files();
    assert!(
        files.len() >= 30,
        "the corpus is missing: {} files",
        files.len()
    );
    let noise = [
        b'{', b'}', b'[', b']', b':', b'-', b'$', b'&', b'*', b'!', b'"', b'\'', b'\n', b' ', b'#',
        b'<',
    ];
    let mut rng = Lcg(0x5eed);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let dir = path.parent().unwrap();
        for cut in (0..text.len()).step_by((text.len() / 16).max(1)) {
            if text.is_char_boundary(cut) {
                load_text(&text[..cut], dir);
            }
        }
        for _ in 0..24 {
            let mut bytes = text.clone().into_bytes();
            for _ in 0..3 {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.next() as usize % bytes.len();
                bytes[at] = noise[rng.next() as usize % noise.len()];
            }
            if let Ok(mutated) = String::from_utf8(bytes) {
                load_text(&mutated, dir);
            }
        }
    }
}

#[test]
fn hostile_inputs_are_refused_not_crashed_on() {
    let dir = std::env::temp_dir();
    let deep = format!(
        "services:\n  a:\n    image: x\n    labels: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    load_text(&deep, &dir);
    let nested = format!(
        "services:\n  a:\n    image: \"{}x{}\"\n",
        "${A:-".repeat(2000),
        "}".repeat(2000)
    );
    load_text(&nested, &dir);
    load_text("services:\n  a: &a\n    <<: *a\n", &dir);
    load_text("\u{feff}services: {a: {image: x}}", &dir);
    load_text(
        "services:\n  a:\n    image: x\n    ports: [\"99999:80\", \"-1\", \"0\", \"a-b:c\"]\n",
        &dir,
    );
}

/// The inputs fuzzing found (`fuzz/`), kept as cases: each is refused with an error and within
/// bounded memory. `dotenv/oom-…`: lines that reference a variable holding themselves several
/// times doubled a value with every line, until the fuzzer's 2 GB limit; a value is now refused
/// past 16 MiB, at the line that would make it.
#[test]
fn what_fuzzing_found_is_refused_with_an_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/dotenv");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = String::from_utf8(std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        let lookup = |name: &str| (name == "SET").then(|| "value".to_string());
        let err = wharf::spec::dotenv::parse(&text, &lookup).unwrap_err();
        assert!(err.message.contains("longer than 16 MiB"), "{err:?}");
        cases += 1;
    }
    assert!(cases > 0, "no case in {}", dir.display());

    let doubling = format!("T=x\n{}", "T=$T$T\n".repeat(40));
    let err = wharf::spec::dotenv::parse(&doubling, &|_| None).unwrap_err();
    assert_eq!(
        (err.line, err.message.as_str()),
        (26, "interpolation makes this value longer than 16 MiB")
    );
    let copies = format!(
        "T=${{X:-{}}}\n{}",
        "x".repeat(1 << 20),
        (0..100).map(|i| format!("K{i}=$T\n")).collect::<String>()
    );
    let err = wharf::spec::dotenv::parse(&copies, &|_| None).unwrap_err();
    assert!(err.message.contains("more than 64 MiB"), "{err:?}");
}
