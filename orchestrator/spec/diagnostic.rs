//! Errors that point at the line: every loader error carries the file, line and column it is
//! about, and a hint that says how to fix it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceCode};

/// A compose file (or `.env` file) as it was read, kept so that errors can quote it.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Where a value came from: a file and a position in it.
#[derive(Debug, Clone)]
pub struct Span {
    pub file: Arc<SourceFile>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset of the start in `file.text`.
    pub offset: usize,
    /// Length in bytes (0 when unknown).
    pub len: usize,
}

impl Span {
    /// A span that covers the start of a file: for errors about a whole file.
    pub fn file_start(file: Arc<SourceFile>) -> Span {
        Span {
            file,
            line: 1,
            column: 1,
            offset: 0,
            len: 0,
        }
    }

    /// The span of the byte range `start..start+len` inside this span's text, assuming the
    /// span covers a single-line plain or quoted scalar (used to point into a value).
    pub fn narrow(&self, start: usize, len: usize) -> Span {
        let text = &self.file.text;
        let base = self.offset.min(text.len());
        let end = (base + start).min(text.len());
        let Some(prefix) = text.get(base..end) else {
            return self.clone();
        };
        if prefix.contains('\n') {
            return self.clone();
        }
        Span {
            file: self.file.clone(),
            line: self.line,
            column: self.column + prefix.chars().count(),
            offset: end,
            len,
        }
    }

    pub fn path(&self) -> &Path {
        &self.file.path
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            display_path(&self.file.path),
            self.line,
            self.column
        )
    }
}

/// Paths are shown relative to the working directory when they are below it, as cargo does.
pub fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        return rel.display().to_string();
    }
    path.display().to_string()
}

/// One loader error.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub message: String,
    pub span: Option<Span>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span: None,
            help: None,
        }
    }

    pub fn at(span: &Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span: Some(span.clone()),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The stable one-line form used by the conformance corpus and by non-TTY output:
    /// `file:line:col: message` then `  = help: hint`.
    pub fn plain(&self) -> String {
        let mut out = match &self.span {
            Some(span) => format!("{span}: {}", self.message),
            None => self.message.clone(),
        };
        if let Some(help) = &self.help {
            out.push_str("\n  = help: ");
            out.push_str(help);
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.span {
            Some(span) => write!(f, "{span}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Diagnostic {}

/// The form miette renders: the message without its location, which the snippet shows.
#[derive(Debug)]
struct Rendered {
    message: String,
    help: Option<String>,
    source: NamedSource<String>,
    at: (usize, usize),
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = LabeledSpan::new_with_span(None, self.at);
        Some(Box::new(std::iter::once(label)))
    }
}

/// Renders a diagnostic for a terminal with the quoted source line (miette's graphical report).
pub fn render(diagnostic: &Diagnostic, color: bool) -> String {
    let Some(span) = &diagnostic.span else {
        let mut out = format!("error: {}", diagnostic.message);
        if let Some(help) = &diagnostic.help {
            out.push_str(&format!("\n  = help: {help}"));
        }
        return out;
    };
    let rendered = Rendered {
        message: diagnostic.message.clone(),
        help: diagnostic.help.clone(),
        source: NamedSource::new(display_path(&span.file.path), span.file.text.clone()),
        at: (span.offset, span.len.max(1)),
    };
    let handler = if color {
        miette::GraphicalReportHandler::new()
    } else {
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &rendered).is_err() {
        return diagnostic.plain();
    }
    out
}
