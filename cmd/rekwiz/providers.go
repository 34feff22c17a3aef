package main

import "github.com/rekwiz/rekwiz/flows"

// byCloud gives every provider the kit of its cloud: one set-up, one
// pairing check per cloud, whichever provider of it is chosen. A cloud
// with no kit gives its providers none.
func byCloud[T any](kits map[flows.Cloud]T) map[flows.Provider]T {
	out := map[flows.Provider]T{}
	for _, p := range flows.Providers() {
		if k, ok := kits[p.Cloud()]; ok {
			out[p] = k
		}
	}
	return out
}
