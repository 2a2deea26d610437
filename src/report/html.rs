//! The batch report: one self-contained HTML page (no external assets) with totals per label, a
//! table of files that can be filtered by label and sorted, and per file a spectrogram thumbnail
//! (PNG as a data URI) with the ambience timeline and the dialogue regions drawn beneath it (inline
//! SVG).
//!
//! Each file can be listened to from the page: its ▶ button (or a click on its timeline, which
//! also seeks there) puts an `<audio>` (`<video>` for video containers) element in the row whose
//! source is a relative link from the report to the media, so the page itself stays small and
//! works from a shared folder as long as the report and the library keep their places. A click on
//! a thumbnail opens it enlarged (4×) with its timeline, a time axis and the player.
//!
//! Opened as `report.html#selftest`, the page plays its first file's row, seeks by a click at the
//! middle of its timeline and writes what happened into `<body data-selftest="…">`: what the
//! headless-browser test reads.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::TagRecord;

/// Width in pixels of the spectrogram thumbnail and the timeline under it.
pub const THUMB_WIDTH: u32 = 240;
/// Height in pixels of the spectrogram thumbnail (one row per mel band pair of YAMNet's 64).
pub const THUMB_HEIGHT: u32 = 32;

/// One file of the report.
#[derive(Debug, Clone, Copy)]
pub struct ReportRow<'a> {
    /// The tag result or error.
    pub record: &'a TagRecord,
    /// The spectrogram thumbnail as base64 PNG, if one was made.
    pub spectrogram_png_base64: Option<&'a str>,
}

/// Colour (CSS hex) of a label on timelines and badges.
pub(crate) fn label_colour(label: &str) -> &'static str {
    match label {
        "rain" => "#4e79a7",
        "traffic" => "#e15759",
        "crowd" => "#f28e2b",
        "hvac" => "#76b7b2",
        "wind" => "#59a14f",
        "water" => "#1f77b4",
        "nature" => "#8cd17d",
        "music" => "#b07aa1",
        "speech" => "#edc948",
        "silence" => "#bab0ac",
        _ => "#9c755f",
    }
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// The ambience timeline of one file as an inline SVG, [`THUMB_WIDTH`] wide: the segments in a
/// 10-pixel strip, the dialogue regions in a 4-pixel strip under it.
fn timeline_svg(record: &TagRecord) -> String {
    let TagRecord::Tagged(t) = record else {
        return String::new();
    };
    let w = f64::from(THUMB_WIDTH);
    let mut svg = format!(
        "<svg class=\"tl\" width=\"{THUMB_WIDTH}\" height=\"15\" viewBox=\"0 0 {THUMB_WIDTH} 15\" preserveAspectRatio=\"none\" data-d=\"{:.3}\">",
        t.duration_s
    );
    let d = t.duration_s.max(1e-9);
    for s in &t.segments {
        let x0 = (s.start_s / d * w).clamp(0.0, w);
        let x1 = (s.end_s / d * w).clamp(0.0, w);
        let _ = write!(
            svg,
            "<rect x=\"{x0:.1}\" y=\"0\" width=\"{:.1}\" height=\"10\" fill=\"{}\"><title>{:.1}–{:.1} s {}</title></rect>",
            (x1 - x0).max(0.5),
            label_colour(&s.label),
            s.start_s,
            s.end_s,
            esc(&s.label)
        );
    }
    for s in &t.speech_segments {
        let x0 = (s.start_s / d * w).clamp(0.0, w);
        let x1 = (s.end_s / d * w).clamp(0.0, w);
        let _ = write!(
            svg,
            "<rect class=\"dl\" x=\"{x0:.1}\" y=\"11\" width=\"{:.1}\" height=\"4\" fill=\"{}\"><title>{:.1}–{:.1} s dialogue</title></rect>",
            (x1 - x0).max(0.5),
            label_colour("speech"),
            s.start_s,
            s.end_s,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `path` made absolute against `cwd` and normalised by its components alone (`.` dropped, `..`
/// taking off the previous one): no file system access, links kept as the user named them.
fn lexical_absolute(path: &Path, cwd: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in cwd.join(path).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The link from a report in `report_dir` to the media at `media` (both taken against `cwd`):
/// a relative URL (`../footage/day1/take%201.wav`), each segment percent-encoded.
pub(crate) fn media_href(media: &str, report_dir: &Path, cwd: &Path) -> String {
    let to = lexical_absolute(Path::new(media), cwd);
    let from = lexical_absolute(report_dir, cwd);
    let (to, from): (Vec<Component>, Vec<Component>) =
        (to.components().collect(), from.components().collect());
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let mut segments: Vec<String> = vec!["..".to_string(); from.len() - common];
    segments.extend(
        to[common..]
            .iter()
            .map(|c| percent_encode(&c.as_os_str().to_string_lossy())),
    );
    segments.join("/")
}

/// RFC 3986 percent-encoding of one path segment (everything but unreserved characters).
fn percent_encode(segment: &str) -> String {
    let mut o = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

/// Whether the media is a video container (the player is then a `<video>`).
fn is_video(path: &str) -> bool {
    crate::video::VideoContainer::for_path(Path::new(path)).is_some()
}

/// Rows per page file.
pub(crate) const PAGE_ROWS: usize = 1000;
/// The folder beside `report.html` that holds the page files and the label index.
pub(crate) const PAGES_DIR: &str = "report";
/// Failed files listed on the index page (the rest are in the pages and `labels.csv`).
const FAILED_LISTED: usize = 200;

/// The name of page `n` (1-based) relative to the report's folder.
pub(crate) fn page_name(n: usize) -> String {
    format!("{PAGES_DIR}/page-{n:04}.html")
}

/// Totals over all rows, for the index page.
#[derive(Default)]
struct Totals {
    ok: usize,
    failed: usize,
    total_s: f64,
    files_with: BTreeMap<String, usize>,
    ambience_files: BTreeMap<String, usize>,
    ambience_s: BTreeMap<String, f64>,
}

/// Adds `by` to `map[key]`, allocating the key only the first time it is seen.
fn bump<V: std::ops::AddAssign + Default>(map: &mut BTreeMap<String, V>, key: &str, by: V) {
    match map.get_mut(key) {
        Some(v) => *v += by,
        None => {
            let mut v = V::default();
            v += by;
            map.insert(key.to_string(), v);
        }
    }
}

impl Totals {
    fn add(&mut self, record: &TagRecord) {
        match record {
            TagRecord::Tagged(x) => {
                self.ok += 1;
                self.total_s += x.duration_s;
                for l in &x.labels {
                    bump(&mut self.files_with, &l.label, 1);
                }
                bump(&mut self.ambience_files, &x.ambience, 1);
                for s in &x.segments {
                    bump(&mut self.ambience_s, &s.label, s.end_s - s.start_s);
                }
            }
            TagRecord::Failed { .. } => self.failed += 1,
        }
    }

    fn labels(&self) -> Vec<&str> {
        let mut labels: Vec<&str> = self
            .files_with
            .keys()
            .chain(self.ambience_files.keys())
            .map(String::as_str)
            .collect();
        labels.sort_unstable();
        labels.dedup();
        labels
    }
}

/// The labels a row is found by (its labels and ambience, or `error`).
fn row_tags(record: &TagRecord) -> Vec<&str> {
    match record {
        TagRecord::Tagged(t) => {
            let mut tags: Vec<&str> = t.labels.iter().map(|l| l.label.as_str()).collect();
            tags.push(t.ambience.as_str());
            tags.sort_unstable();
            tags.dedup();
            tags
        }
        TagRecord::Failed { .. } => vec!["error"],
    }
}

/// Builds the report of a batch one row at a time, so that a library of any size is never held
/// whole: rows are given in the order they should be listed, and each file is handed to a
/// `write(name relative to the report's folder, text)` callback as soon as it is complete:
///
/// - `report/page-0001.html` …: [`PAGE_ROWS`] rows each with their thumbnails, players and
///   timelines (module docs), each page written when its last row is in;
/// - at [`BatchReport::finish`], `report/index.js` (every file's path, labels and page; the one
///   part that grows with the library, about 80 bytes a file) and `report.html`: totals per label
///   (files, hours as ambience, a bar per label), the first failed files, and the files by label
///   (the index is loaded when a label is chosen) with links to the pages; small at any size.
///
/// Media links are relative to the page that holds them; relative record paths are taken against
/// the current folder.
pub(crate) struct BatchReport {
    title: String,
    pages_dir: PathBuf,
    cwd: PathBuf,
    totals: Totals,
    /// The first [`FAILED_LISTED`] failed files: (row, path, error).
    failed: Vec<(usize, String, String)>,
    index: String,
    rows: usize,
    /// The rows of the page being filled, rendered, and the labels found on it.
    page: String,
    page_labels: std::collections::BTreeSet<String>,
    names: Vec<String>,
}

impl BatchReport {
    /// A report titled `title` whose `report.html` will be in `report_dir`.
    pub(crate) fn new(title: &str, report_dir: &Path) -> Self {
        let mut index = String::with_capacity(1 << 16);
        index.push_str("window.ROOMTONE_INDEX=[\n");
        Self {
            title: title.to_string(),
            pages_dir: report_dir.join(PAGES_DIR),
            cwd: std::env::current_dir().unwrap_or_default(),
            totals: Totals::default(),
            failed: Vec::new(),
            index,
            rows: 0,
            page: String::new(),
            page_labels: Default::default(),
            names: Vec::new(),
        }
    }

    /// Adds the next row; writes the page before it first if that page is full (so a page knows
    /// whether another follows).
    pub(crate) fn push(
        &mut self,
        row: ReportRow<'_>,
        write: &mut impl FnMut(&str, &str) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let id = self.rows;
        if id > 0 && id.is_multiple_of(PAGE_ROWS) {
            self.write_page(true, write)?;
        }
        self.rows += 1;
        self.totals.add(row.record);
        let (path, error) = match row.record {
            TagRecord::Tagged(t) => (t.path.as_str(), None),
            TagRecord::Failed { path, error } => (path.as_str(), Some(error)),
        };
        if let Some(error) = error.filter(|_| self.failed.len() < FAILED_LISTED) {
            self.failed.push((id, path.to_string(), error.clone()));
        }
        let tags = row_tags(row.record);
        let entry = serde_json::json!([path, tags.join(" "), id / PAGE_ROWS + 1, id]);
        let _ = writeln!(self.index, "{entry},");
        for t in &tags {
            if !self.page_labels.contains(*t) && *t != "error" {
                self.page_labels.insert((*t).to_string());
            }
        }
        row_html(&mut self.page, id, row, &self.pages_dir, &self.cwd);
        Ok(())
    }

    /// Writes the page being filled (page `rows / PAGE_ROWS`, rounded up; page 1 even when empty).
    fn write_page(
        &mut self,
        has_next: bool,
        write: &mut impl FnMut(&str, &str) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let page = self.rows.div_ceil(PAGE_ROWS).max(1);
        let labels: Vec<&str> = self.page_labels.iter().map(String::as_str).collect();
        let html = page_html(&self.title, page, has_next, &labels, &self.page);
        let name = page_name(page);
        write(&name, &html)?;
        self.names.push(name);
        self.page.clear();
        self.page_labels.clear();
        Ok(())
    }

    /// Writes the last page, `report/index.js` and `report.html`; returns the names written, in
    /// the order they were.
    pub(crate) fn finish(
        mut self,
        mut write: impl FnMut(&str, &str) -> std::io::Result<()>,
    ) -> std::io::Result<Vec<String>> {
        self.write_page(false, &mut write)?;
        self.index.push_str("];\n");
        let name = format!("{PAGES_DIR}/index.js");
        write(&name, &self.index)?;
        self.names.push(name);
        write("report.html", &self.index_html())?;
        self.names.push("report.html".to_string());
        Ok(self.names)
    }

    /// `report.html`: totals, the failed files, the label browser and the pages.
    fn index_html(&self) -> String {
        let t = &self.totals;
        let labels = t.labels();
        let n_pages = self.rows.div_ceil(PAGE_ROWS).max(1);
        let mut h = String::with_capacity(8192 + n_pages * 40);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>{STYLE}</style></head><body>\n<h1>{}</h1>\n<p class=\"sum\">{} files tagged, {} failed, {:.2} h of audio.</p>\n",
            esc(&self.title),
            esc(&self.title),
            t.ok,
            t.failed,
            t.total_s / 3600.0
        );
        h.push_str("<h2>Totals per label</h2>\n<table id=\"totals\"><thead><tr><th>label</th><th>files with label</th><th></th><th>files with it as ambience</th><th>hours as ambience (timeline)</th></tr></thead><tbody>\n");
        let most = t.files_with.values().copied().max().unwrap_or(1).max(1);
        for l in &labels {
            let n = t.files_with.get(*l).copied().unwrap_or(0);
            let _ = writeln!(
                h,
                "<tr><td><span class=\"b\" style=\"background:{c}\">{}</span></td><td>{n}</td><td><div class=\"bar\" style=\"width:{:.0}px;background:{c}\"></div></td><td>{}</td><td>{:.3}</td></tr>",
                esc(l),
                200.0 * n as f64 / most as f64,
                t.ambience_files.get(*l).copied().unwrap_or(0),
                t.ambience_s.get(*l).copied().unwrap_or(0.0) / 3600.0,
                c = label_colour(l),
            );
        }
        h.push_str("</tbody></table>\n");
        if t.failed > 0 {
            let _ = writeln!(
                h,
                "<h2>Failed files ({})</h2>\n<table id=\"failed\"><tbody>",
                t.failed
            );
            for (i, path, error) in &self.failed {
                let _ = writeln!(
                    h,
                    "<tr class=\"err\"><td class=\"p\"><a href=\"{}#r{i}\">{}</a></td><td>{}</td></tr>",
                    page_name(i / PAGE_ROWS + 1),
                    esc(path),
                    esc(error)
                );
            }
            h.push_str("</tbody></table>\n");
            if t.failed > FAILED_LISTED {
                let _ = writeln!(
                    h,
                    "<p>… and {} more: choose \"errors\" below, or see labels.csv.</p>",
                    t.failed - FAILED_LISTED
                );
            }
        }
        let _ = write!(
            h,
            "<h2>Files</h2>\n<p>Files with label: <select id=\"filter\"><option value=\"\">choose</option>"
        );
        for l in &labels {
            let _ = write!(h, "<option value=\"{0}\">{0}</option>", esc(l));
        }
        h.push_str("<option value=\"error\">errors</option></select> <span id=\"matches\"></span></p>\n<ol id=\"found\"></ol>\n");
        let _ = write!(
            h,
            "<p>All {} files, {PAGE_ROWS} to a page, in path order (each row plays its file and shows its spectrogram and timelines):</p>\n<p id=\"pages\">",
            self.rows
        );
        for p in 1..=n_pages {
            let _ = write!(h, "<a href=\"{}\">{p}</a> ", page_name(p));
        }
        let _ = write!(h, "</p>\n<script>{INDEX_SCRIPT}</script>\n</body></html>\n");
        h
    }
}

/// One page of rows: `body` is its rows, rendered; `labels` those found on it (its filter's
/// choices).
fn page_html(title: &str, page: usize, has_next: bool, labels: &[&str], body: &str) -> String {
    let mut h = String::with_capacity(4096 + body.len());
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} (page {page})</title>\n<style>{STYLE}</style></head><body>\n<p class=\"nav\"><a href=\"../report.html\">totals, search and all pages</a> · page {page}",
        esc(title),
    );
    if page > 1 {
        let _ = write!(h, " · <a href=\"page-{:04}.html\">previous</a>", page - 1);
    }
    if has_next {
        let _ = write!(h, " · <a href=\"page-{:04}.html\">next</a>", page + 1);
    }
    h.push_str("</p>\n<p>Label: <select id=\"filter\"><option value=\"\">all</option>");
    for l in labels {
        let _ = write!(h, "<option value=\"{0}\">{0}</option>", esc(l));
    }
    h.push_str("<option value=\"error\">errors</option></select> <span id=\"shown\"></span> · click a column header to sort.</p>\n");
    h.push_str("<table id=\"files\"><thead><tr><th data-k=\"s\">path</th><th data-k=\"n\">duration (s)</th><th data-k=\"s\">ambience</th><th>labels (score)</th><th data-k=\"s\">speech</th><th>spectrogram, ambience and dialogue</th></tr></thead><tbody>\n");
    h.push_str(body);
    let _ = write!(
        h,
        "</tbody></table>\n<script>{SCRIPT}</script>\n</body></html>\n"
    );
    h
}

/// Renders row `id` of the report into `h`; media links relative to `page_dir`.
fn row_html(h: &mut String, id: usize, r: ReportRow<'_>, page_dir: &Path, cwd: &Path) {
    let tags = row_tags(r.record).join(" ");
    match r.record {
        TagRecord::Tagged(t) => {
            let _ = write!(
                h,
                "<tr id=\"r{id}\" data-labels=\" {} \" data-src=\"{}\" data-kind=\"{}\"><td class=\"p\"><button class=\"pl\" title=\"play\">▶</button> {}</td><td data-v=\"{:.3}\">{}</td><td>{}</td><td>",
                esc(&tags),
                esc(&media_href(&t.path, page_dir, cwd)),
                if is_video(&t.path) { "video" } else { "audio" },
                esc(&t.path),
                t.duration_s,
                super::format_duration(t.duration_s),
                esc(&t.ambience)
            );
            for l in &t.labels {
                let _ = write!(
                    h,
                    "<span class=\"b\" style=\"background:{}\">{} {:.2}</span> ",
                    label_colour(&l.label),
                    esc(&l.label),
                    l.score
                );
            }
            let _ = write!(
                h,
                "</td><td>{}</td><td>",
                if t.speech { "yes" } else { "no" }
            );
            if let Some(png) = r.spectrogram_png_base64 {
                let _ = write!(
                    h,
                    "<img class=\"sg\" width=\"{THUMB_WIDTH}\" height=\"{THUMB_HEIGHT}\" alt=\"spectrogram\" src=\"data:image/png;base64,{png}\">"
                );
            }
            h.push_str(&timeline_svg(r.record));
            h.push_str("</td></tr>\n");
        }
        TagRecord::Failed { path, error } => {
            let _ = writeln!(
                h,
                "<tr id=\"r{id}\" class=\"err\" data-labels=\" error \"><td class=\"p\">{}</td><td data-v=\"-1\"></td><td>error</td><td colspan=\"3\">{}</td></tr>",
                esc(path),
                esc(error)
            );
        }
    }
}

/// The index page's label browser: loads `report/index.js` when a label is chosen (a script
/// element, which works from `file://` where `fetch` does not) and lists the first 500 files with
/// it, linked to their rows. `report.html#label=rain` opens with a label chosen.
const INDEX_SCRIPT: &str = r#"(function(){
var f=document.getElementById('filter'),m=document.getElementById('matches'),ol=document.getElementById('found');
function show(){var v=f.value;ol.innerHTML='';if(!v){m.textContent='';return;}
var all=window.ROOMTONE_INDEX,n=0,frag=document.createDocumentFragment();
for(var i=0;i<all.length;i++){var e=all[i];if((' '+e[1]+' ').indexOf(' '+v+' ')<0)continue;n++;
if(n<=500){var li=document.createElement('li'),a=document.createElement('a');a.href='report/page-'+String(e[2]).padStart(4,'0')+'.html#r'+e[3];
a.textContent=e[0];li.appendChild(a);frag.appendChild(li);}}
ol.appendChild(frag);m.textContent=n+' files'+(n>500?' (the first 500 listed)':'');document.body.dataset.matches=v+':'+n;}
function load(then){if(window.ROOMTONE_INDEX){then();return;}m.textContent='loading the index…';
var s=document.createElement('script');s.src='report/index.js';s.onload=then;
s.onerror=function(){m.textContent='report/index.js could not be loaded';};document.head.appendChild(s);}
f.addEventListener('change',function(){load(show);});
var h=/^#label=(.+)$/.exec(location.hash);if(h){f.value=decodeURIComponent(h[1]);load(show);}
document.body.dataset.ready=String(performance.now()|0);
})();"#;

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
th[data-k]{cursor:pointer;text-decoration:underline dotted}.p{font-family:monospace;max-width:32em;word-break:break-all}\
.b{display:inline-block;border-radius:3px;padding:0 4px;margin:1px;color:#fff;font-size:12px}\
.bar{height:10px}.nav{font-size:13px}.err td{color:#a00}.sg{display:block;image-rendering:pixelated;cursor:zoom-in}.tl{display:block;cursor:pointer}\
.pl{border:0;background:none;cursor:pointer;padding:0 2px}.player{display:block;margin-top:4px;max-width:360px}\
#big{position:fixed;inset:0;background:rgba(0,0,0,.75);display:none;align-items:center;justify-content:center}\
#big.on{display:flex}#big>div{background:#fff;padding:12px;border-radius:4px}\
#big img{width:960px;height:128px;image-rendering:pixelated;display:block}#big svg.tl{width:960px;height:30px}\
#big .ax{display:flex;justify-content:space-between;width:960px;font-size:11px;color:#555}";

const SCRIPT: &str = r#"(function(){
var tb=document.querySelector('#files tbody'),f=document.getElementById('filter'),shown=document.getElementById('shown');
function apply(){var v=f.value,n=0;for(var r of tb.rows){var ok=!v||r.dataset.labels.indexOf(' '+v+' ')>=0;r.style.display=ok?'':'none';if(ok)n++;}shown.textContent=n+' of '+tb.rows.length+' files';}
f.addEventListener('change',apply);
document.querySelectorAll('#files th[data-k]').forEach(function(th,_){th.addEventListener('click',function(){
var i=th.cellIndex,num=th.dataset.k==='n',dir=th.dataset.d==='1'?-1:1;th.dataset.d=dir===1?'1':'0';
var rows=Array.prototype.slice.call(tb.rows);
rows.sort(function(a,b){var x=a.cells[i],y=b.cells[i];if(!x||!y)return 0;
if(num){return dir*((parseFloat(x.dataset.v)||0)-(parseFloat(y.dataset.v)||0));}
return dir*x.textContent.localeCompare(y.textContent);});
rows.forEach(function(r){tb.appendChild(r);});});});
apply();
function player(r){var p=r.querySelector('.player');if(p)return p;
p=document.createElement(r.dataset.kind==='video'?'video':'audio');p.className='player';p.controls=true;p.preload='metadata';
p.src=r.dataset.src;p.addEventListener('error',function(){var a=document.createElement('a');a.href=r.dataset.src;
a.textContent='the browser cannot play this file: open it';p.replaceWith(a);});r.cells[0].appendChild(p);return p;}
function seek(r,frac){var p=player(r);if(!p.play)return p;function go(){p.currentTime=frac*(p.duration||0);}
if(p.readyState>=1)go();else p.addEventListener('loadedmetadata',go,{once:true});return p;}
function timelineClick(r,svg,e){var b=svg.getBoundingClientRect();var frac=Math.min(1,Math.max(0,(e.clientX-b.left)/b.width));
var p=seek(r,frac);if(p.play)p.play().catch(function(){});}
var big=document.createElement('div');big.id='big';document.body.appendChild(big);
big.addEventListener('click',function(e){if(e.target===big){big.className='';big.innerHTML='';}});
tb.addEventListener('click',function(e){var r=e.target.closest('tr');if(!r||!r.dataset.src)return;
if(e.target.closest('.pl')){var p=player(r);if(p.play)p.play().catch(function(){});return;}
var svg=e.target.closest('svg.tl');if(svg){timelineClick(r,svg,e);return;}
if(e.target.matches('img.sg')){var d=parseFloat(r.querySelector('svg.tl').dataset.d)||0;
big.innerHTML='<div><p class="p"></p><img alt="spectrogram"><div></div><div class="ax"></div></div>';
big.querySelector('p').textContent=r.cells[0].textContent.replace('▶','').trim();big.querySelector('img').src=e.target.src;
var tl=r.querySelector('svg.tl').cloneNode(true);big.querySelector('div>div').appendChild(tl);
var ax=big.querySelector('.ax');for(var k=0;k<=8;k++){var s=document.createElement('span');s.textContent=(d*k/8).toFixed(1)+' s';ax.appendChild(s);}
tl.addEventListener('click',function(ev){timelineClick(r,tl,ev);});big.className='on';}});
if(location.hash==='#selftest'){var r=tb.querySelector('tr[data-src]'),out=[];
function done(){document.body.dataset.selftest=out.join(' ');}
var push=out.push.bind(out);out.push=function(x){push(x);done();};
if(!r){out.push('no-rows');done();}else{r.querySelector('.pl').click();var p=r.querySelector('.player');
out.push('player='+(p?p.tagName.toLowerCase():'none'));if(p){out.push('src='+p.src);
p.addEventListener('error',function(){out.push('error='+(p.error&&p.error.code));done();});
p.addEventListener('loadedmetadata',function(){out.push('duration='+p.duration.toFixed(3));
var svg=r.querySelector('svg.tl'),b=svg.getBoundingClientRect();
p.addEventListener('seeked',function(){out.push('seeked='+p.currentTime.toFixed(3));
var im=r.querySelector('img.sg');if(im){im.click();var bi=big.querySelector('img');
out.push('enlarged='+(big.className==='on'&&bi?bi.getBoundingClientRect().width.toFixed(0):'no'));}},{once:true});
svg.dispatchEvent(new MouseEvent('click',{bubbles:true,clientX:b.left+b.width/2,clientY:b.top+2}));},{once:true});}else done();}}
window.addEventListener('load',function(){var im=document.querySelectorAll('img.sg'),ok=0;
for(var i of im){if(i.complete&&i.naturalWidth>0)ok++;}document.body.dataset.images=ok+'/'+im.length;});
})();"#;

/// Encodes a spectrogram (`columns` of mel-band values, low band first, natural-log mel as
/// computed by the front end) as an indexed-colour PNG of [`THUMB_WIDTH`] × [`THUMB_HEIGHT`].
/// Returns `None` when there are no columns.
pub fn spectrogram_png(columns: &[Vec<f32>]) -> Option<Vec<u8>> {
    let n_bands = columns.first()?.len();
    if n_bands == 0 {
        return None;
    }
    let (w, hgt) = (THUMB_WIDTH as usize, THUMB_HEIGHT as usize);
    // Contrast from the file itself: the 2nd percentile is black, the 99.5th is the brightest
    // colour (at least 1 neper apart, so a steady tone does not blow up noise).
    let mut values: Vec<f32> = columns
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f32::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    let hi = at(0.995);
    let lo = at(0.02).min(hi - 1.0);
    let mut pixels = vec![0u8; w * hgt];
    for x in 0..w {
        let c = &columns[(x * columns.len() / w).min(columns.len() - 1)];
        for y in 0..hgt {
            // Row 0 is the top of the image = the highest bands.
            let b0 = (hgt - 1 - y) * n_bands / hgt;
            let b1 = ((hgt - y) * n_bands / hgt).max(b0 + 1).min(n_bands);
            let v = c[b0..b1].iter().sum::<f32>() / (b1 - b0) as f32;
            let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
            pixels[y * w + x] = (t * 255.0).round() as u8;
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, THUMB_WIDTH, THUMB_HEIGHT);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(palette());
        enc.set_compression(png::Compression::Best);
        let mut writer = enc.write_header().ok()?;
        writer.write_image_data(&pixels).ok()?;
        writer.finish().ok()?;
    }
    Some(out)
}

/// A dark-to-bright palette (black → purple → orange → pale yellow), 256 RGB entries.
fn palette() -> Vec<u8> {
    const STOPS: [(f32, [f32; 3]); 5] = [
        (0.0, [0.0, 0.0, 4.0]),
        (0.3, [81.0, 18.0, 124.0]),
        (0.6, [221.0, 81.0, 58.0]),
        (0.85, [252.0, 165.0, 10.0]),
        (1.0, [252.0, 253.0, 191.0]),
    ];
    let mut p = Vec::with_capacity(768);
    for i in 0..256 {
        let t = i as f32 / 255.0;
        let k = STOPS.iter().rposition(|s| s.0 <= t).unwrap_or(0).min(3);
        let (t0, c0) = STOPS[k];
        let (t1, c1) = STOPS[k + 1];
        let a = ((t - t0) / (t1 - t0)).clamp(0.0, 1.0);
        for ch in 0..3 {
            p.push((c0[ch] + a * (c1[ch] - c0[ch])).round() as u8);
        }
    }
    p
}

/// Standard base64 (RFC 4648, with padding).
pub(crate) fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        o.push(A[(n >> 18) as usize & 63] as char);
        o.push(A[(n >> 12) as usize & 63] as char);
        o.push(if chunk.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        o.push(if chunk.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn spectrogram_png_decodes_to_the_thumbnail_size_and_bright_band_is_bright() {
        // Band 10 loud, everything else quiet, over 50 columns.
        let cols: Vec<Vec<f32>> = (0..50)
            .map(|_| (0..64).map(|b| if b == 10 { 2.0 } else { -6.0 }).collect())
            .collect();
        let png_bytes = spectrogram_png(&cols).expect("png");
        let dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = dec.read_info().expect("info");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("frame");
        assert_eq!((info.width, info.height), (THUMB_WIDTH, THUMB_HEIGHT));
        // Band 10 of 64 falls in row 32-1-5 = 26 (two bands per row).
        let row = |y: usize| buf[y * info.line_size];
        assert!(row(26) > 100, "loud band row index {}", row(26));
        assert!(row(0) < 10, "quiet band row index {}", row(0));
    }

    #[test]
    fn media_links_are_relative_to_the_report_and_encoded() {
        let cwd = Path::new("/work/lib");
        assert_eq!(
            media_href(
                "/data/footage/day 1/take#1.wav",
                Path::new("/data/labels"),
                cwd
            ),
            "../footage/day%201/take%231.wav"
        );
        assert_eq!(
            media_href("footage/a.wav", Path::new("out"), cwd),
            "../footage/a.wav"
        );
        assert_eq!(
            media_href("./x/../a.wav", Path::new("out/./sub/.."), cwd),
            "../a.wav"
        );
        assert_eq!(media_href("/a/b.wav", Path::new("/a"), cwd), "b.wav");
        assert_eq!(media_href("é.wav", Path::new("."), cwd), "%C3%A9.wav");
    }

    fn report(rows: &[ReportRow<'_>]) -> Vec<(String, String)> {
        let mut files = Vec::new();
        let mut write = |name: &str, text: &str| {
            files.push((name.to_string(), text.to_string()));
            Ok(())
        };
        let mut report = BatchReport::new("t", Path::new("out"));
        for row in rows {
            report.push(*row, &mut write).unwrap();
        }
        report.finish(write).unwrap();
        files
    }

    #[test]
    fn paths_are_escaped() {
        let rec = TagRecord::Failed {
            path: "<script>alert(1)</script>.wav".into(),
            error: "bad & worse".into(),
        };
        let row = ReportRow {
            record: &rec,
            spectrogram_png_base64: None,
        };
        for (name, html) in report(&[row]) {
            if name.ends_with(".html") {
                assert!(
                    html.contains("&lt;script&gt;alert(1)&lt;/script&gt;.wav"),
                    "{name}"
                );
                assert!(html.contains("bad &amp; worse"), "{name}");
            } else {
                // The index is a script file of JSON values, one row per line.
                let line = html.lines().nth(1).unwrap().trim_end_matches(',');
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(v[0], "<script>alert(1)</script>.wav");
                assert_eq!(v[1], "error");
            }
        }
    }

    #[test]
    fn every_row_lands_on_one_page_at_each_page_boundary() {
        for n in [0_usize, 1, 999, 1000, 1001, 1999, 2000, 2001] {
            let recs: Vec<TagRecord> = (0..n)
                .map(|i| TagRecord::Failed {
                    path: format!("f{i:05}.wav"),
                    error: "x".into(),
                })
                .collect();
            let rows: Vec<ReportRow<'_>> = recs
                .iter()
                .map(|record| ReportRow {
                    record,
                    spectrogram_png_base64: None,
                })
                .collect();
            let files = report(&rows);
            let pages: Vec<&(String, String)> =
                files.iter().filter(|(n, _)| n.contains("page-")).collect();
            assert_eq!(pages.len(), n.div_ceil(PAGE_ROWS).max(1), "{n} rows");
            let mut next_id = 0;
            for (k, (name, html)) in pages.iter().enumerate() {
                assert_eq!(*name, page_name(k + 1));
                let ids: Vec<usize> = html
                    .split("<tr id=\"r")
                    .skip(1)
                    .map(|r| r[..r.find('"').unwrap()].parse().unwrap())
                    .collect();
                assert_eq!(ids, (next_id..next_id + ids.len()).collect::<Vec<_>>());
                assert!(ids.len() <= PAGE_ROWS);
                next_id += ids.len();
                assert_eq!(
                    html.contains(">next</a>"),
                    k + 1 < pages.len(),
                    "{n} rows, page {k}"
                );
            }
            assert_eq!(next_id, n);
            let index = &files.last().unwrap().1;
            assert!(index.contains(&format!("All {n} files")));
        }
    }

    #[test]
    fn rows_go_into_pages_of_a_thousand_and_the_index_page_stays_small() {
        let recs: Vec<TagRecord> = (0..2_345)
            .map(|i| TagRecord::Failed {
                path: format!("f{i:05}.wav"),
                error: "x".into(),
            })
            .collect();
        let rows: Vec<ReportRow<'_>> = recs
            .iter()
            .map(|record| ReportRow {
                record,
                spectrogram_png_base64: None,
            })
            .collect();
        let files = report(&rows);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "report/page-0001.html",
                "report/page-0002.html",
                "report/page-0003.html",
                "report/index.js",
                "report.html",
            ]
        );
        let rows_in = |html: &str| html.matches("<tr id=\"r").count();
        assert_eq!(rows_in(&files[0].1), 1000);
        assert_eq!(rows_in(&files[2].1), 345);
        assert!(files[2].1.contains("id=\"r2344\""));
        // Each page links to the one before and after it, where there is one.
        let links = |html: &str| (html.contains(">previous</a>"), html.contains(">next</a>"));
        assert_eq!(links(&files[0].1), (false, true));
        assert_eq!(links(&files[1].1), (true, true));
        assert_eq!(links(&files[2].1), (true, false));
        // The index lists 200 failed files, not 2,345, and no rows; it links every page.
        assert_eq!(files[4].1.matches("<tr class=\"err\">").count(), 200);
        assert!(files[4].1.contains("2145 more"));
        assert!(files[4].1.contains("href=\"report/page-0003.html\""));
        assert!(!files[4].1.contains("page-0004"));
        assert_eq!(files[3].1.lines().count(), 2_345 + 2);
    }
}
