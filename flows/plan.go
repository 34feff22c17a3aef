package flows

// SetupPlan is what "set it up for me" will do, computed with read-only
// calls before anything changes, for the customer to see and confirm.
type SetupPlan struct {
	// Account and Caller are who is signed in: the AWS account and the
	// caller's ARN (or the Azure tenant and user). Home names what
	// Account is ("tenant"); empty is "account".
	Account, Caller, Home string
	// Changes are the changes it will make, in order, one sentence each;
	// Kept is what it found in place and leaves as it is.
	Changes, Kept []string
	// PolicyDiff is the key policy before and after, as a unified diff of
	// the pretty-printed JSON; empty when the policy does not change.
	PolicyDiff string
	// UserPolicy is the service account's inline policy, pretty-printed,
	// when it will be put.
	UserPolicy string
	// Conflict is set when the key policy already has a different
	// statement under the vendor's Sid: nothing changes unless the
	// customer confirms replacing it.
	Conflict *StatementConflict
}

// StatementConflict is a statement under the vendor's Sid (or, with
// Where set, a whole policy) that differs from the one rekwiz writes.
type StatementConflict struct {
	Sid string
	// Where names what holds Existing when it is not the key policy, e.g.
	// "the inline policy of IAM user rekwiz-…" (the service account's
	// user); "" is the key policy.
	Where string
	// Existing and Ours are the two statements, pretty-printed.
	Existing, Ours string
	// Losses say what replacing Existing with Ours loses or changes.
	Losses []string
}
