// Pipeline 4, the paper's field technicians (actions/examples/field_technician): classify the
// technicians' photos, upload the labelled ones over the corporate network, retrain the
// equipment classifier in the cloud with them, and push the new model to the fleet's tablets.
//
// Input:  { "photos": [{"pixels": [256 numbers 0..1], "state": "ok"}, ...],
//           "devices": {"labels": {"fleet": "field"}}, "seed": 1 }
//         (photos: what technicians photographed and labelled; devices: the preload selector
//          of the tablets that get the new model)
// Output: { classified: [{state, confidence} or {error}, ...], uploaded: N,
//           model: {key, version, status}, accuracy, samples: {train, held_out, field},
//           pushed: [{invoker, status, reason}, ...] }
//
// classify runs once per photo, in parallel (Composer map), on a tablet (policy.fn edge, strict:
// never in the cloud; policy.offline: a tablet may also run it cut off, through its local API);
// when no photo could be classified (no tablet online) the flow stops there; upload is the
// company's data and runs only on a device on the corporate network (policy.data corp, strict:
// with none on corp the flow stops with the platform's unschedulable error) and makes them the
// field-photos artifact; retrain consumes its newest version and produces the next
// equipment-model (in the cloud: policy.fn cloud, strict); push preloads that version to the
// tablets the selector picks.
const composer = require('openwhisk-composer')

module.exports = composer.let(
  { photos: null, devices: null, seed: 1, classified: null, uploaded: null, model: null, accuracy: null, samples: null },
  args => {
    if (!Array.isArray(args.photos) || args.photos.length === 0) {
      return { error: 'field: give the labelled photos, e.g. {"photos": [{"pixels": [...], "state": "ok"}]}' }
    }
    photos = args.photos
    devices = args.devices || { labels: { fleet: 'field' } }
    seed = args.seed ?? seed
    return { value: photos.map(photo => ({ pixels: photo.pixels })) }
  },
  composer.map('classify'),
  joined => {
    classified = joined.value
    const failed = classified.filter(c => c.error !== undefined)
    if (failed.length === classified.length) {
      return { error: `field: no photo was classified, nothing uploaded (${failed[0].error})` }
    }
    return { photos }
  },
  'upload',
  upload => {
    uploaded = upload.count
    return { seed }
  },
  'retrain',
  trained => {
    const artifact = trained['equipment-model'].artifact
    model = { key: artifact.key, version: artifact.version, status: artifact.status }
    accuracy = trained.accuracy
    samples = trained.samples
    return { name: artifact.name, version: artifact.version, devices }
  },
  'push',
  pushed => ({ classified, uploaded, model, accuracy, samples, pushed: pushed.devices })
)
