package cli

import (
	"errors"
	"strings"
)

// Tokenize splits a command line the way the array's restricted shell does
// (mcs-cli.md §1.2, README "Tokenizer"): whitespace separates words; '…'
// is literal; "…" groups with backslash escaping only \ " $ ` and newline;
// outside quotes a backslash takes the next character literally. Nothing
// is expanded: $, `, *, ~, |, ;, &, <, > are ordinary characters (names
// containing them then fail the naming rules). Hand-written because the
// shlex libraries either expand or accept unterminated quotes silently.
func Tokenize(line string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   byte // 0, '\'' or '"'
		escaped bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case escaped:
			escaped = false
			if quote == '"' && c != '\\' && c != '"' && c != '$' && c != '`' && c != '\n' {
				cur.WriteByte('\\')
			}
			if !(c == '\n' && quote != '\'') { // backslash-newline is a line continuation
				cur.WriteByte(c)
			}
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case quote == '"':
			switch c {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteByte(c)
			}
		case c == '\\':
			escaped, inWord = true, true
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == 0:
			return nil, errors.New("NUL in command line")
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if escaped {
		return nil, errors.New("trailing backslash")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
