//! The JSON API of `gan serve`: the request bodies, their validation against the run's
//! facts (no GPU needed), and the errors a client sees (a status and a message).

use serde::Deserialize;

/// An answer other than 200: an HTTP status and a message for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeError {
    /// HTTP status (4xx: the request; 500: the server).
    pub status: u16,
    /// What went wrong and how to fix it.
    pub message: String,
}

impl ServeError {
    /// An error of `status` saying `message`.
    pub fn new(status: u16, message: impl Into<String>) -> ServeError {
        ServeError {
            status,
            message: message.into(),
        }
    }
}

/// Most images one request may ask for (`count`, interpolation `steps`).
pub const MAX_COUNT: usize = 64;

/// Most bytes of a request body.
pub const MAX_BODY: usize = 64 * 1024;

/// How a response carries its images.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One PNG (the grid), D's scores in the `X-Gan-Scores` header.
    #[default]
    Png,
    /// JSON: the grid and every image as PNG data URLs, the scores as numbers.
    Json,
}

/// `POST /api/generate`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// Seed of the latents: image i is latent i of this seed (as `gan generate --seed`).
    #[serde(default)]
    pub seed: u64,
    /// Number of images, 1 to [`MAX_COUNT`].
    #[serde(default = "default_count")]
    pub count: usize,
    /// Class of every image on a conditional run; None: the classes in turn, one row each.
    pub class: Option<u32>,
    /// Truncation psi in (0, 1]; 1 is off.
    #[serde(default = "one")]
    pub truncation: f64,
    /// Replaces the first `z.len()` coordinates of every image's latent (the sliders).
    pub z: Option<Vec<f32>>,
    /// Checkpoint step (one the run kept); None: the latest.
    pub step: Option<u64>,
    /// png (default) or json.
    #[serde(default)]
    pub format: Format,
}

/// `POST /api/interpolate`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InterpolateRequest {
    /// The path runs from latent 0 to latent 1 of this seed (as `gan generate
    /// --interpolate`).
    #[serde(default)]
    pub seed: u64,
    /// Images on the path, ends included: 2 to [`MAX_COUNT`].
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// Class of every frame; needed on a conditional run.
    pub class: Option<u32>,
    /// Truncation psi in (0, 1], applied to both ends.
    #[serde(default = "one")]
    pub truncation: f64,
    /// "spherical" or "linear"; None: spherical for a normal prior, linear for uniform.
    pub path: Option<String>,
    /// Checkpoint step; None: the latest.
    pub step: Option<u64>,
    /// png (default) or json.
    #[serde(default)]
    pub format: Format,
}

fn default_count() -> usize {
    16
}
fn default_steps() -> usize {
    8
}
fn one() -> f64 {
    1.0
}

/// What a request is checked against.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    /// Dimension of z.
    pub latent_dim: usize,
    /// Classes of a conditional run.
    pub classes: Option<usize>,
    /// Checkpoint steps the run kept.
    pub steps: Vec<u64>,
    /// Step of the latest checkpoint.
    pub latest: u64,
    /// The prior is normal (else uniform).
    pub normal_prior: bool,
}

fn bad(msg: impl Into<String>) -> ServeError {
    ServeError::new(400, msg)
}

/// Parses a JSON body into `T`, refusing malformed JSON and unknown fields with 400.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ServeError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice() // an empty body asks for the defaults
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "{what}: the body is not a valid request ({e}); send a JSON object such as \
             {{\"seed\": 1, \"count\": 16}} (see GET /api/info and the README)"
        ))
    })
}

fn check_truncation(psi: f64) -> Result<(), ServeError> {
    gan_train::latent::check_truncation(psi).map_err(|e| bad(e.to_string()))
}

/// The checkpoint a request names: 404 when the run did not keep it.
pub fn check_step(step: Option<u64>, facts: &Facts) -> Result<u64, ServeError> {
    match step {
        None => Ok(facts.latest),
        Some(s) if facts.steps.contains(&s) => Ok(s),
        Some(s) => Err(ServeError::new(
            404,
            format!(
                "no checkpoint of step {s}: the run kept steps {:?} (train with \
                 --keep-checkpoints to keep every checkpoint)",
                facts.steps
            ),
        )),
    }
}

/// Checks a class against the run: refused on an unconditional run and out of range.
pub fn check_class(class: Option<u32>, facts: &Facts) -> Result<(), ServeError> {
    match (class, facts.classes) {
        (None, _) => Ok(()),
        (Some(c), None) => Err(bad(format!(
            "class {c}: this is an unconditional run, its generator takes no class; drop \
             \"class\" (or serve a run trained with --conditional)"
        ))),
        (Some(c), Some(n)) if c as usize >= n => Err(bad(format!(
            "class {c} is out of range: the run has {n} classes, 0 to {}",
            n - 1
        ))),
        _ => Ok(()),
    }
}

fn check_count(n: usize, min: usize, name: &str) -> Result<(), ServeError> {
    if n > MAX_COUNT {
        return Err(ServeError::new(
            413,
            format!("{name} = {n} is too many: at most {MAX_COUNT} images per request"),
        ));
    }
    if n < min {
        return Err(bad(format!("{name} = {n}: at least {min} needed")));
    }
    Ok(())
}

impl GenerateRequest {
    /// Validates the request against the run; returns the checkpoint step to use.
    pub fn check(&self, facts: &Facts) -> Result<u64, ServeError> {
        check_count(self.count, 1, "count")?;
        check_truncation(self.truncation)?;
        check_class(self.class, facts)?;
        if let Some(z) = &self.z {
            if z.len() > facts.latent_dim {
                return Err(bad(format!(
                    "z has {} values, the latent has only {} dimensions",
                    z.len(),
                    facts.latent_dim
                )));
            }
            if let Some(v) = z.iter().find(|v| !v.is_finite() || v.abs() > 100.0) {
                return Err(bad(format!(
                    "z holds {v}: latent coordinates must be finite and within +-100"
                )));
            }
        }
        check_step(self.step, facts)
    }
}

impl InterpolateRequest {
    /// Validates the request; returns the checkpoint step and whether the path is
    /// spherical.
    pub fn check(&self, facts: &Facts) -> Result<(u64, bool), ServeError> {
        check_count(self.steps, 2, "steps")?;
        check_truncation(self.truncation)?;
        check_class(self.class, facts)?;
        if let (Some(n), None) = (facts.classes, self.class) {
            return Err(bad(format!(
                "this is a conditional run: every frame is made for one class; give \
                 \"class\" (0 to {})",
                n - 1
            )));
        }
        let spherical = match self.path.as_deref() {
            None => facts.normal_prior,
            Some("spherical") => true,
            Some("linear") => false,
            Some(p) => {
                return Err(bad(format!(
                    "path \"{p}\": expected \"spherical\" or \"linear\""
                )))
            }
        };
        Ok((check_step(self.step, facts)?, spherical))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(classes: Option<usize>) -> Facts {
        Facts {
            latent_dim: 4,
            classes,
            steps: vec![2, 4],
            latest: 4,
            normal_prior: true,
        }
    }

    fn gen(json: &str) -> Result<u64, ServeError> {
        parse::<GenerateRequest>(json.as_bytes(), "generate")?.check(&facts(None))
    }

    fn status(r: Result<u64, ServeError>) -> u16 {
        r.unwrap_err().status
    }

    #[test]
    fn defaults_and_steps() {
        let r: GenerateRequest = parse(b"", "generate").unwrap();
        assert_eq!((r.seed, r.count, r.truncation), (0, 16, 1.0));
        assert_eq!(r.format, Format::Png);
        assert_eq!(gen("{}").unwrap(), 4);
        assert_eq!(gen(r#"{"step": 2, "format": "json"}"#).unwrap(), 2);
        assert_eq!(status(gen(r#"{"step": 3}"#)), 404);
    }

    #[test]
    fn bad_requests_get_4xx_with_a_message() {
        let e = gen("{\"seed\": ").unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("not a valid request"), "{}", e.message);
        let e = gen(r#"{"cont": 3}"#).unwrap_err();
        assert!(e.message.contains("unknown field `cont`"), "{}", e.message);
        assert_eq!(status(gen(r#"{"count": 0}"#)), 400);
        assert_eq!(status(gen(r#"{"count": 1000000}"#)), 413);
        assert_eq!(status(gen(r#"{"count": -1}"#)), 400);
        assert_eq!(status(gen(r#"{"truncation": 0}"#)), 400);
        assert_eq!(status(gen(r#"{"truncation": 1.5}"#)), 400);
        assert_eq!(status(gen(r#"{"z": [0, 0, 0, 0, 0]}"#)), 400);
        assert_eq!(status(gen(r#"{"format": "gif"}"#)), 400);
        let e = gen(r#"{"class": 1}"#).unwrap_err();
        assert!(e.message.contains("unconditional"), "{}", e.message);
        assert_eq!(gen(r#"{"count": 64, "z": [1, -1]}"#).unwrap(), 4);
    }

    #[test]
    fn classes_and_interpolation_paths() {
        let f = facts(Some(10));
        let g = |c: u32| GenerateRequest {
            class: Some(c),
            ..parse::<GenerateRequest>(b"{}", "").unwrap()
        };
        assert!(g(9).check(&f).is_ok());
        assert!(g(10).check(&f).unwrap_err().message.contains("0 to 9"));
        let i = |json: &str| parse::<InterpolateRequest>(json.as_bytes(), "interpolate");
        assert!(i("{}").unwrap().check(&f).is_err()); // conditional needs a class
        assert_eq!(i(r#"{"class": 3}"#).unwrap().check(&f).unwrap(), (4, true));
        let unc = facts(None);
        assert_eq!(
            i(r#"{"path": "linear"}"#).unwrap().check(&unc).unwrap(),
            (4, false)
        );
        assert_eq!(
            i(r#"{"steps": 1}"#)
                .unwrap()
                .check(&unc)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            i(r#"{"steps": 65}"#)
                .unwrap()
                .check(&unc)
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(
            i(r#"{"path": "x"}"#)
                .unwrap()
                .check(&unc)
                .unwrap_err()
                .status,
            400
        );
    }
}
