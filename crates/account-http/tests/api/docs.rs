//! `docs/api.md` lists every problem type and every operation as the code has them.

use account_http::ProblemType;

use crate::support::{operations, sync_doc_section};

#[test]
fn docs_api_lists_every_problem_type() {
    let mut table =
        String::from("| type (slug) | status | title | when |\n| --- | --- | --- | --- |\n");
    for t in ProblemType::ALL {
        table.push_str(&format!(
            "| <a id=\"{slug}\"></a>`{slug}` | {} | {} | {} |\n",
            t.status(),
            t.title(),
            t.description(),
            slug = t.slug()
        ));
    }
    sync_doc_section("api.md", "problems", &table);
}

#[test]
fn docs_api_lists_every_operation() {
    let mut out = String::new();
    let mut tag = String::new();
    let mut ops: Vec<_> = operations().iter().collect();
    ops.sort_by(|a, b| (&a.tags[0], &a.path, &a.method).cmp(&(&b.tags[0], &b.path, &b.method)));
    for op in ops {
        if op.tags[0] != tag {
            tag.clone_from(&op.tags[0]);
            out.push_str(&format!(
                "\n**{tag}**\n\n| operation | method and path | summary |\n| --- | --- | --- |\n"
            ));
        }
        out.push_str(&format!("| `{}` | `{} {}` | {} |\n", op.id, op.method, op.path, op.summary));
    }
    sync_doc_section("api.md", "operations", &out);
}

#[test]
fn every_problem_type_has_a_distinct_slug_and_a_4xx_or_5xx_status() {
    let mut slugs = std::collections::BTreeSet::new();
    for t in ProblemType::ALL {
        assert!(slugs.insert(t.slug()), "duplicate slug {}", t.slug());
        assert!((400..600).contains(&t.status()));
        assert!(t.uri().ends_with(t.slug()));
    }
}
