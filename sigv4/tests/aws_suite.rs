//! Known-answer tests: AWS's public SigV4 test suite, one `#[test]` per case, read from
//! `testdata/aws-sigv4-suite.jsonl` (see `testdata/README.md` for where the data comes from).
//! Each step is compared separately so a failure names the step that broke.
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;
use sigv4::{sign_request, Credentials, SignableRequest, SigningParams};

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/aws-sigv4-suite.jsonl");
    let text = std::fs::read_to_string(&path).expect("read the suite data");
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("suite line is json"))
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("case {name} is not in {}", path.display()))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .expect("a list of pairs")
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Signs the named case and returns the Authorization header after checking every step.
fn check(name: &str) -> String {
    let case = load(name);
    let query = pairs(&case["query"]);
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let headers = pairs(&case["headers"]);
    let credentials = Credentials::new(
        str_of(&case, "access_key"),
        str_of(&case, "secret_key"),
        case["session_token"].as_str().map(str::to_string),
    );
    let signed = sign_request(
        &SignableRequest {
            method: str_of(&case, "method"),
            host: str_of(&case, "host"),
            path: str_of(&case, "path"),
            query: &query,
            headers: &headers,
            body: str_of(&case, "body").as_bytes(),
        },
        &SigningParams {
            credentials: &credentials,
            region: str_of(&case, "region"),
            service: str_of(&case, "service"),
            time: UNIX_EPOCH + Duration::from_secs(case["time"].as_u64().unwrap()),
        },
    );
    assert_eq!(
        signed.canonical_request.to_string(),
        str_of(&case, "canonical_request"),
        "{name}: canonical request"
    );
    assert_eq!(
        signed.string_to_sign.to_string(),
        str_of(&case, "string_to_sign"),
        "{name}: string to sign"
    );
    assert_eq!(
        signed.authorization,
        str_of(&case, "authorization"),
        "{name}: authorization"
    );
    signed.authorization
}

macro_rules! suite {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(#[test] fn $test() { check($name); })*

        #[test]
        fn every_case_in_the_data_has_a_test() {
            let named = [$($name),*];
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/aws-sigv4-suite.jsonl");
            let text = std::fs::read_to_string(path).unwrap();
            for line in text.lines() {
                let case: Value = serde_json::from_str(line).unwrap();
                let name = case["name"].as_str().unwrap();
                assert!(named.contains(&name), "{name} has data but no #[test]");
            }
        }
    };
}

suite! {
    get_vanilla => "get-vanilla",
    get_vanilla_query => "get-vanilla-query",
    get_vanilla_empty_query_key => "get-vanilla-empty-query-key",
    get_vanilla_query_order_key_case => "get-vanilla-query-order-key-case",
    get_vanilla_query_order_key => "get-vanilla-query-order-key",
    get_vanilla_query_order_value => "get-vanilla-query-order-value",
    get_vanilla_query_unreserved => "get-vanilla-query-unreserved",
    get_vanilla_utf8_query => "get-vanilla-utf8-query",
    get_vanilla_with_session_token => "get-vanilla-with-session-token",
    get_unreserved => "get-unreserved",
    get_utf8 => "get-utf8",
    get_header_key_duplicate => "get-header-key-duplicate",
    get_header_value_order => "get-header-value-order",
    get_header_value_trim => "get-header-value-trim",
    get_header_value_multiline => "get-header-value-multiline",
    normalize_path_get_relative => "normalize-path/get-relative",
    normalize_path_get_relative_relative => "normalize-path/get-relative-relative",
    normalize_path_get_slash => "normalize-path/get-slash",
    normalize_path_get_slash_dot_slash => "normalize-path/get-slash-dot-slash",
    normalize_path_get_slash_pointless_dot => "normalize-path/get-slash-pointless-dot",
    normalize_path_get_slashes => "normalize-path/get-slashes",
    normalize_path_get_space => "normalize-path/get-space",
    post_header_key_case => "post-header-key-case",
    post_header_key_sort => "post-header-key-sort",
    post_header_value_case => "post-header-value-case",
    post_sts_header_before => "post-sts-token/post-sts-header-before",
    post_sts_header_after => "post-sts-token/post-sts-header-after",
    post_vanilla => "post-vanilla",
    post_vanilla_empty_query_value => "post-vanilla-empty-query-value",
    post_vanilla_query => "post-vanilla-query",
    post_x_www_form_urlencoded => "post-x-www-form-urlencoded",
    post_x_www_form_urlencoded_parameters => "post-x-www-form-urlencoded-parameters",
}

/// Signatures as AWS publishes them in the suite (typed in from the suite, not computed), so
/// the data file cannot drift together with a broken signer.
#[test]
fn published_signatures_match() {
    for (name, signature) in [
        (
            "get-vanilla",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        (
            "get-vanilla-query-order-key-case",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        (
            "get-vanilla-query-unreserved",
            "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
        ),
        (
            "get-utf8",
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
        ),
        (
            "get-header-value-trim",
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        ),
        (
            "normalize-path/get-slash-pointless-dot",
            "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
        ),
        (
            "normalize-path/get-slashes",
            "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
        ),
        (
            "normalize-path/get-space",
            "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
        ),
        (
            "post-vanilla",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
        (
            "post-x-www-form-urlencoded",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        ),
        (
            "post-sts-token/post-sts-header-before",
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        ),
    ] {
        let authorization = check(name);
        assert!(
            authorization.ends_with(&format!("Signature={signature}")),
            "{name}: {authorization}"
        );
    }
}
