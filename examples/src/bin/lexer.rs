//! `lexer`: a hand-written tokenizer for a small C-like language.
//!
//! Models the scanner of a compiler front end (the structure of rustc's `rustc_lexer` or of
//! Aho, Lam, Sethi & Ullman, "Compilers: Principles, Techniques, and Tools", 2nd ed., ch. 3):
//! a loop that dispatches on the first byte of each token, then scans identifiers (with keyword
//! lookup), decimal/hex/binary integers with `_` separators, floats with exponents, string and
//! char literals with escapes, line and nested block comments, one-, two- and three-character
//! operators, and error tokens for bytes the language does not allow. The generated source text
//! has a realistic, skewed token mix — identifiers, spaces and punctuation are hot; hex
//! literals, escapes, nested comments and stray bytes are rare — and the branches depend on the
//! data in a different way from `interp` (byte classes rather than opcodes).

use hallows_examples::checksum::Checksum;
use hallows_examples::cli::{self, timed, Options, Report, Workload};
use hallows_examples::rng::{mix64, Rng};
use std::process::ExitCode;

const WORKLOAD: Workload = Workload {
    name: "lexer",
    about: "tokenizer for a small C-like language over generated source text",
    size_unit: "bytes of source",
    small_size: 1 << 15,
    default_size: || 64 << 20,
    min_size: 1,
    max_size: 1 << 31,
    size_power_of_two: false,
    has_prefetch_variant: false,
};

/// Token kinds; the discriminant indexes the per-kind counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ident,
    Keyword,
    Int,
    Float,
    Str,
    Char,
    Op,
    Punct,
    LineComment,
    BlockComment,
    Whitespace,
    Newline,
    Error,
}

const KINDS: usize = Kind::Error as usize + 1;
const KIND_NAMES: [&str; KINDS] = [
    "ident",
    "keyword",
    "int",
    "float",
    "str",
    "char",
    "op",
    "punct",
    "line_comment",
    "block_comment",
    "space",
    "newline",
    "error",
];

const KEYWORDS: [&str; 12] = [
    "fn", "let", "mut", "if", "else", "while", "for", "in", "return", "struct", "true", "false",
];

/// A token: its kind and its byte length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Token {
    kind: Kind,
    len: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_keyword(word: &[u8]) -> bool {
    matches!(
        word,
        b"fn"
            | b"let"
            | b"mut"
            | b"if"
            | b"else"
            | b"while"
            | b"for"
            | b"in"
            | b"return"
            | b"struct"
            | b"true"
            | b"false"
    )
}

/// Scans the token at the start of `src` (which must not be empty).
fn next_token(src: &[u8]) -> Token {
    let at = |i: usize| src.get(i).copied().unwrap_or(0);
    let count_while = |from: usize, pred: &dyn Fn(u8) -> bool| {
        from + src[from.min(src.len())..]
            .iter()
            .take_while(|&&b| pred(b))
            .count()
    };
    let (kind, len) = match src[0] {
        b' ' | b'\t' | b'\r' => (
            Kind::Whitespace,
            count_while(1, &|b| matches!(b, b' ' | b'\t' | b'\r')),
        ),
        b'\n' => (Kind::Newline, 1),
        b if is_ident_start(b) => {
            let len = count_while(1, &is_ident_continue);
            (
                if is_keyword(&src[..len]) {
                    Kind::Keyword
                } else {
                    Kind::Ident
                },
                len,
            )
        }
        b'0' if matches!(at(1), b'x' | b'X') => (
            Kind::Int,
            count_while(2, &|b| b.is_ascii_hexdigit() || b == b'_'),
        ),
        b'0' if matches!(at(1), b'b' | b'B') => (
            Kind::Int,
            count_while(2, &|b| b == b'0' || b == b'1' || b == b'_'),
        ),
        b'0'..=b'9' => number(src),
        b'"' => (Kind::Str, quoted(src, b'"')),
        b'\'' => (Kind::Char, quoted(src, b'\'')),
        b'/' if at(1) == b'/' => (Kind::LineComment, count_while(2, &|b| b != b'\n')),
        b'/' if at(1) == b'*' => (Kind::BlockComment, block_comment(src)),
        b'(' | b')' | b'{' | b'}' | b'[' | b']' | b';' | b',' | b'.' | b':' => (Kind::Punct, 1),
        b'=' | b'!' | b'<' | b'>' | b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' => {
            (Kind::Op, operator(src))
        }
        _ => error_token_cold(src),
    };
    Token {
        kind,
        len: len.max(1),
    }
}

/// A decimal integer or a float (`1.5`, `2e10`, `3.0e-7`).
fn number(src: &[u8]) -> (Kind, usize) {
    let digits = |from: usize| {
        from + src[from.min(src.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'_')
            .count()
    };
    let mut len = digits(0);
    let mut kind = Kind::Int;
    if src.get(len) == Some(&b'.') && src.get(len + 1).is_some_and(u8::is_ascii_digit) {
        kind = Kind::Float;
        len = digits(len + 1);
    }
    if matches!(src.get(len), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(src.get(len + 1), Some(b'+' | b'-')));
        if src.get(len + 1 + sign).is_some_and(u8::is_ascii_digit) {
            kind = Kind::Float;
            len = digits(len + 1 + sign);
        }
    }
    (kind, len)
}

/// A string or char literal with backslash escapes; an unterminated one runs to the line end.
fn quoted(src: &[u8], quote: u8) -> usize {
    let mut i = 1;
    while i < src.len() {
        match src[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    src.len()
}

/// A nested `/* ... */` comment; an unterminated one runs to the end of the input.
fn block_comment(src: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut i = 0;
    while i + 1 < src.len() {
        match (src[i], src[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    src.len()
}

/// Longest match among the operators `== != <= >= && || -> => += -= *= /= << >> <<= >>=`.
fn operator(src: &[u8]) -> usize {
    let second = src.get(1).copied().unwrap_or(0);
    match (src[0], second) {
        (b'<', b'<') | (b'>', b'>') => 2 + usize::from(src.get(2) == Some(&b'=')),
        (b'=' | b'!' | b'<' | b'>' | b'+' | b'-' | b'*' | b'/' | b'%' | b'^', b'=')
        | (b'&', b'&')
        | (b'|', b'|')
        | (b'-' | b'=', b'>') => 2,
        _ => 1,
    }
}

/// A byte the language does not allow: one error token per UTF-8 character.
#[cold]
#[inline(never)]
fn error_token_cold(src: &[u8]) -> (Kind, usize) {
    let width = match src[0] {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    };
    (Kind::Error, width.min(src.len()))
}

/// Token counts per kind and a checksum over kinds, lengths and identifier spellings.
fn lex(src: &[u8]) -> ([u64; KINDS], u64) {
    let mut counts = [0u64; KINDS];
    let mut sum = Checksum::new();
    let mut rest = src;
    while !rest.is_empty() {
        let token = next_token(rest);
        counts[token.kind as usize] += 1;
        let text = &rest[..token.len];
        let word = match token.kind {
            Kind::Ident => text
                .iter()
                .fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b))),
            _ => token.len as u64,
        };
        sum.add_u64(word ^ ((token.kind as u64) << 56));
        rest = &rest[token.len..];
    }
    (counts, sum.finish())
}

const IDENTS: [&str; 10] = [
    "x",
    "count",
    "buf",
    "node",
    "i",
    "total_len",
    "self_",
    "value",
    "next",
    "tmp2",
];
const OPERATORS: [&str; 16] = [
    "=", "+", "-", "*", "<", "==", "!=", "<=", "&&", "||", "->", "+=", ">>=", "%", "=>", "!",
];
const PUNCT: [&str; 8] = ["(", ")", "{", "}", ";", ",", ".", ":"];

/// Generated source text of about `size` bytes with a skewed token mix.
fn generate(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut src = Vec::with_capacity(size + 64);
    while src.len() < size {
        let pick = rng.below(1000);
        match pick {
            0..=299 => src.extend_from_slice(IDENTS[rng.below_usize(IDENTS.len())].as_bytes()),
            300..=449 => src.push(b' '),
            450..=579 => src.extend_from_slice(PUNCT[rng.below_usize(PUNCT.len())].as_bytes()),
            580..=679 => {
                src.extend_from_slice(OPERATORS[rng.below_usize(OPERATORS.len())].as_bytes())
            }
            680..=759 => {
                src.extend_from_slice(KEYWORDS[rng.below_usize(KEYWORDS.len())].as_bytes())
            }
            760..=829 => src.extend_from_slice(rng.below(10_000).to_string().as_bytes()),
            830..=879 => src.extend_from_slice(b"\n    "),
            880..=919 => {
                let words = 1 + rng.below(5);
                src.extend_from_slice(b"\"");
                for w in 0..words {
                    if w > 0 {
                        src.push(b' ');
                    }
                    src.extend_from_slice(IDENTS[rng.below_usize(IDENTS.len())].as_bytes());
                }
                if rng.chance(1, 6) {
                    src.extend_from_slice(b"\\n\\\"");
                }
                src.extend_from_slice(b"\"");
            }
            920..=949 => {
                src.extend_from_slice(b"// ");
                src.extend_from_slice(format!("note {:x}", mix64(rng.next_u64()) >> 40).as_bytes());
                src.push(b'\n');
            }
            950..=964 => {
                src.extend_from_slice(format!("{}.{}", rng.below(100), rng.below(1000)).as_bytes())
            }
            965..=974 => src.extend_from_slice(if rng.chance(1, 4) { b"'\\n'" } else { b"'a'" }),
            975..=984 => src.extend_from_slice(format!("0x{:X}", rng.next_u32()).as_bytes()),
            985..=989 => {
                src.extend_from_slice(format!("{}e-{}", rng.below(10), rng.below(20)).as_bytes())
            }
            990..=994 => src.extend_from_slice(if rng.chance(1, 3) {
                b"/* a /* nested */ one */"
            } else {
                b"/* block */"
            }),
            995..=997 => src.extend_from_slice(format!("0b{:b}", rng.below(256)).as_bytes()),
            _ => src.extend_from_slice(if rng.chance(1, 2) {
                "@".as_bytes()
            } else {
                "€".as_bytes()
            }),
        }
        // Tokens need separating where two would otherwise merge.
        if pick < 300 || (680..830).contains(&pick) || pick >= 950 {
            src.push(b' ');
        }
    }
    src
}

fn main() -> ExitCode {
    cli::main(&WORKLOAD, run)
}

fn run(options: &Options) -> Result<Report, String> {
    let src = generate(options.size, options.seed);
    let ((counts, checksum), kernel) = timed(|| lex(&src));
    let mut report = Report::new(checksum)
        .field("bytes", src.len())
        .field("tokens", counts.iter().sum::<u64>());
    for (name, count) in KIND_NAMES.iter().zip(counts) {
        report = report.field(name, count);
    }
    Ok(report.kernel_time(kernel))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        let mut rest = src.as_bytes();
        let mut out = Vec::new();
        while !rest.is_empty() {
            let t = next_token(rest);
            out.push((t.kind, std::str::from_utf8(&rest[..t.len]).unwrap()));
            rest = &rest[t.len..];
        }
        out.retain(|(k, _)| *k != Kind::Whitespace);
        out
    }

    #[test]
    fn scans_every_kind() {
        use Kind::*;
        assert_eq!(
            kinds("fn x1 = 0x1F_u + 0b101 >>= 3.5e-2 \"a\\\"b\" 'c' // hi\n/* a /* b */ c */ @€"),
            vec![
                (Keyword, "fn"),
                (Ident, "x1"),
                (Op, "="),
                (Int, "0x1F_"),
                (Ident, "u"),
                (Op, "+"),
                (Int, "0b101"),
                (Op, ">>="),
                (Float, "3.5e-2"),
                (Str, "\"a\\\"b\""),
                (Char, "'c'"),
                (LineComment, "// hi"),
                (Newline, "\n"),
                (BlockComment, "/* a /* b */ c */"),
                (Error, "@"),
                (Error, "€"),
            ]
        );
    }

    #[test]
    fn unterminated_literals_stop_at_line_or_input_end() {
        assert_eq!(
            kinds("\"abc\nx"),
            vec![
                (Kind::Str, "\"abc"),
                (Kind::Newline, "\n"),
                (Kind::Ident, "x")
            ]
        );
        assert_eq!(kinds("/* open"), vec![(Kind::BlockComment, "/* open")]);
        assert_eq!(kinds("1."), vec![(Kind::Int, "1"), (Kind::Punct, ".")]);
        assert_eq!(kinds("1e"), vec![(Kind::Int, "1"), (Kind::Ident, "e")]);
    }

    #[test]
    fn generated_source_covers_every_kind_and_tokens_tile_it() {
        let src = generate(1 << 16, 3);
        let (counts, _) = lex(&src);
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
        let mut rest = &src[..];
        let mut total = 0;
        while !rest.is_empty() {
            let t = next_token(rest);
            total += t.len;
            rest = &rest[t.len..];
        }
        assert_eq!(total, src.len());
    }
}
