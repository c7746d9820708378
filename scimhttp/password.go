package scimhttp

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// pbkdf2Iterations follows the OWASP recommendation for PBKDF2-HMAC-SHA256.
const pbkdf2Iterations = 600_000

// defaultHashPassword is the hash used when Config.HashPassword is nil:
// PBKDF2-HMAC-SHA256 with a random 16-byte salt, in the PHC-like form
// "$pbkdf2-sha256$i=600000$<salt>$<hash>" (unpadded standard base64).
func defaultHashPassword(plain string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha256.New, plain, salt, pbkdf2Iterations, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return "$pbkdf2-sha256$i=" + strconv.Itoa(pbkdf2Iterations) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key), nil
}
