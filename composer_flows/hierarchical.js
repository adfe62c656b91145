// Pipeline 3 of the paper's Figure 1, "a hierarchical pipeline with transfer learning": the
// personal assistant. The base model is trained in the cloud, then, for every user in parallel
// (Composer `map`), on that user's own device: collect the readings, refine the base on them,
// stop at refine's validation gate if it held the user's model back, else serve it (predict).
// The per-user results are joined in the flow's result.
//
// Input:  { "users": ["u1", "u2"], "readings": [[...], ...], "collect": 400, "skewed": [],
//           "samples": 2000, "epochs": 8 }
//         (readings: what each user's device scores with its new model, keyed or ordered by
//          glucose.FEATURES; collect: readings each device records; skewed: users whose device
//          records a skewed sample, whose refined model the bias gate holds back;
//          samples/epochs: train_base)
// Output: { base: {key, accuracy}, users: [ {usr, readings, refined: {model, accuracy_before,
//           accuracy_after, bias_age_ratio}, prediction: {...}} or {error}, ... ] }
//
// Why `map` over users and not an unbound {usr} fan-out: the fan-out runs one action per user
// and answers a summary, while each user here runs a sequence (collect, refine, the gate, predict)
// whose result the flow joins; `map` runs that sequence per user, in parallel, and a user whose
// model the gate held back ends with an error in its place without stopping the others. Every
// step is placed by its own policy: train_base on the cloud node, collect/refine/predict on
// `{usr}_device`, so each user's readings and model never leave the user's device.
const composer = require('openwhisk-composer')

const perUser = composer.let(
  { usr: null, readings: null, refined: null },
  item => {
    usr = item.usr
    readings = item.readings
    return { usr, readings: item.collect, skew: item.skew }
  },
  'collect',
  () => ({ usr }),
  'refine',
  result => {
    const model = result['glucose-model'].artifact
    refined = {
      model: { key: model.key, version: model.version, status: model.status },
      accuracy_before: result.accuracy_before,
      accuracy_after: result.accuracy_after,
      bias_age_ratio: result.metrics.bias_age_ratio
    }
    return { status: model.status }
  },
  composer.if(
    checked => checked.status === 'gated',
    () => ({ error: `${usr}: ${refined.model.key} held back by refine's gate (bias ratio ${refined.bias_age_ratio}): not served` }),
    composer.sequence(
      () => ({ usr, readings }),
      'predict',
      prediction => ({ usr, readings: readings.length, refined, prediction })))
)

module.exports = composer.let(
  { users: null, readings: null, collect: 400, skewed: null, base: null },
  args => {
    if (!Array.isArray(args.users) || args.users.length === 0) {
      return { error: 'hierarchical: name the users to refine for, e.g. {"users": ["u1", "u2"], "readings": [...]}' }
    }
    users = args.users
    readings = args.readings || []
    collect = args.collect || collect
    skewed = args.skewed || []
    return { samples: args.samples, epochs: args.epochs }
  },
  'train_base',
  trained => {
    base = { key: trained['glucose-base'].artifact.key, accuracy: trained.accuracy }
    return { value: users.map(usr => ({ usr, readings, collect, skew: skewed.includes(usr) })) }
  },
  composer.map(perUser),
  joined => ({ base, users: joined.value })
)
