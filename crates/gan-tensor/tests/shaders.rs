//! Every `shaders/*.wgsl` parses and validates with naga (no GPU needed), and gan-tensor
//! embeds exactly the files that are there.

use std::path::PathBuf;

fn shader_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shaders")
}

/// Parses and validates one WGSL source; the error carries naga's message and the file.
fn validate(name: &str, src: &str) -> Result<(), String> {
    let module = naga::front::wgsl::parse_str(src)
        .map_err(|e| format!("{name}: {}", e.emit_to_string(src)))?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .map_err(|e| format!("{name}: {}", e.emit_to_string(src)))?;
    Ok(())
}

#[test]
fn every_shader_validates_with_naga() {
    let mut failures = Vec::new();
    let mut count = 0;
    for entry in std::fs::read_dir(shader_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("wgsl") {
            continue;
        }
        count += 1;
        let src = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = validate(&path.display().to_string(), &src) {
            failures.push(e);
        }
    }
    assert!(count > 0, "no shaders found in {}", shader_dir().display());
    assert!(
        failures.is_empty(),
        "invalid shaders:\n{}",
        failures.join("\n")
    );
}

#[test]
fn broken_shader_is_reported_with_file_name() {
    let err = validate("broken.wgsl", "fn f() -> f32 { return 1u; }").unwrap_err();
    assert!(err.starts_with("broken.wgsl"), "{err}");
}

#[test]
fn embedded_families_match_the_folder() {
    let mut on_disk: Vec<String> = std::fs::read_dir(shader_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "wgsl")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = gan_tensor::shaders::ALL
        .iter()
        .map(|f| f.name.to_string())
        .collect();
    embedded.sort();
    assert_eq!(
        on_disk, embedded,
        "shaders/ and gan_tensor::shaders::ALL differ"
    );
    for f in gan_tensor::shaders::ALL {
        let disk = std::fs::read_to_string(shader_dir().join(format!("{}.wgsl", f.name))).unwrap();
        assert_eq!(disk, f.source, "{} embedded copy is stale", f.name);
    }
}
